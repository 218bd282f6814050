import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { EventLog, type LoggedJobEvent } from './event-log.ts';
import { comparePositions, laterOf, type EventPosition } from './event-position.ts';
import type { JobEventBus } from './job-event-bus.ts';

export type FeedListener = (event: LoggedJobEvent) => void;

const PAGE = 1_000;
/** While a notified event waits for older transactions to end: the first retry, doubled up to the last. */
const FIRST_RETRY_MS = 2;
const LAST_RETRY_MS = 100;
/** Reads now and then though nothing was notified: a notification lost to the LISTEN connection costs this much latency at most. */
const SAFETY_READ_MS = 1_000;
const ERROR_RETRY_MS = 500;

/**
 * The job-event log as one live stream per gateway, in position order: what
 * `jobEvents` delivers. A notification (or the safety timer) wakes it; it then
 * reads every event up to the high-water mark, so an event is delivered once
 * all older transactions have ended, and a subscriber's cursor (the last
 * event's position) is where a replay from the log takes over with no gap and
 * no repeat. It reads only while someone listens.
 */
export class EventFeed {
  readonly #log: EventLog;
  readonly #bus: JobEventBus;
  readonly #logger: Logger;
  readonly #byTenant = new Map<string, Set<FeedListener>>();
  #listenerCount = 0;
  /** Every event at or before it has been delivered; null while nobody listens. */
  #position: EventPosition | null = null;
  #starting: Promise<EventPosition> | null = null;
  #reading = false;
  #again = false;
  /** The newest position a notification told of. */
  #notified: EventPosition | null = null;
  #retryMs = FIRST_RETRY_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #safetyTimer: NodeJS.Timeout | undefined;
  #unsubscribeBus: (() => void) | undefined;
  readonly #horizonWaiters: { below: bigint; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #stopped = false;

  constructor(pool: Pick<pg.Pool, 'query'>, bus: JobEventBus, logger: Logger) {
    this.#log = new EventLog(pool);
    this.#bus = bus;
    this.#logger = logger.child({ component: 'event-feed' });
  }

  /**
   * Every later event of one tenant, from the feed's position when it
   * resolves (returned with the unsubscribe function).
   */
  async subscribeTenant(tenantId: string, listener: FeedListener): Promise<{ position: EventPosition; unsubscribe: () => void }> {
    let listeners = this.#byTenant.get(tenantId);
    if (!listeners) this.#byTenant.set(tenantId, (listeners = new Set()));
    listeners.add(listener);
    this.#listenerCount++;
    let subscribed = true;
    const unsubscribe = () => {
      if (!subscribed) return;
      subscribed = false;
      listeners.delete(listener);
      if (listeners.size === 0 && this.#byTenant.get(tenantId) === listeners) this.#byTenant.delete(tenantId);
      if (--this.#listenerCount === 0) this.#idle();
    };
    try {
      const position = this.#position ?? (await this.#start());
      return { position, unsubscribe };
    } catch (error) {
      unsubscribe();
      throw error;
    }
  }

  /** Resolves once every event committed before the call has been delivered. */
  async caughtUp(): Promise<void> {
    const below = await this.#log.committedBelow();
    if (this.#position && this.#position.tx >= below) return;
    await new Promise<void>((resolve, reject) => {
      this.#horizonWaiters.push({ below, resolve, reject });
      this.#wake();
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#idle();
  }

  #start(): Promise<EventPosition> {
    this.#starting ??= this.#log
      .readFeed({ tx: 0n, seq: 0n }, 0)
      .then(({ horizon }) => {
        this.#starting = null;
        if (this.#listenerCount === 0) throw new Error('nobody listens any more');
        // Events of transactions still running at the horizon come after it.
        const position = { tx: horizon, seq: -1n };
        if (this.#position === null) {
          this.#position = position;
          this.#unsubscribeBus = this.#bus.onNotified((position) => {
            this.#notified = this.#notified ? laterOf(this.#notified, position) : position;
            this.#wake();
          });
          const unsubscribeResync = this.#bus.onResync(() => this.#wake());
          const unsubscribeEvents = this.#unsubscribeBus;
          this.#unsubscribeBus = () => (unsubscribeEvents(), unsubscribeResync());
          this.#safetyTimer = setInterval(() => this.#wake(), SAFETY_READ_MS).unref();
        }
        return this.#position;
      })
      .catch((error: unknown) => {
        this.#starting = null;
        throw error;
      });
    return this.#starting;
  }

  #idle(): void {
    if (this.#listenerCount > 0 && !this.#stopped) return;
    this.#position = null;
    this.#notified = null;
    this.#unsubscribeBus?.();
    this.#unsubscribeBus = undefined;
    clearInterval(this.#safetyTimer);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const waiter of this.#horizonWaiters.splice(0)) waiter.resolve();
  }

  #wake(): void {
    if (this.#position === null) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    void this.#read();
  }

  async #read(): Promise<void> {
    this.#reading = true;
    try {
      do {
        this.#again = false;
        const from = this.#position;
        if (from === null) return;
        const page = await this.#log.readFeed(from, PAGE);
        // Nobody listens any more, or the feed restarted meanwhile: read again from where it now stands.
        if (this.#position !== from) {
          this.#again = this.#position !== null;
          continue;
        }
        for (const event of page.events) {
          this.#position = event.position;
          this.#deliver(event);
        }
        if (page.events.length === PAGE) {
          this.#again = true;
          continue;
        }
        this.#position = laterOf(this.#position, { tx: page.horizon, seq: -1n });
        this.#settleWaiters(page.horizon);
      } while (this.#again);
      // A notified event is not below the horizon yet (older transactions are still running), or a
      // caller waits for the horizon to pass a transaction: read again soon, then less and less often.
      const behind = this.#notified !== null && this.#position !== null && comparePositions(this.#notified, this.#position) > 0;
      if (behind || this.#horizonWaiters.length > 0) this.#retryLater();
      else this.#retryMs = FIRST_RETRY_MS;
    } catch (error) {
      this.#logger.warn({ err: error }, 'job-event log read failed; retrying');
      this.#retryMs = ERROR_RETRY_MS;
      this.#retryLater();
    } finally {
      this.#reading = false;
    }
  }

  #retryLater(): void {
    if (this.#retryTimer || this.#position === null) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, LAST_RETRY_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#wake();
    }, delay);
    this.#retryTimer.unref();
  }

  #settleWaiters(horizon: bigint): void {
    for (let i = this.#horizonWaiters.length - 1; i >= 0; i--) {
      const waiter = this.#horizonWaiters[i]!;
      if (horizon < waiter.below) continue;
      this.#horizonWaiters.splice(i, 1);
      waiter.resolve();
    }
  }

  #deliver(event: LoggedJobEvent): void {
    const slash = event.name.indexOf('/');
    if (slash <= 0) return;
    const listeners = this.#byTenant.get(event.name.slice(0, slash));
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ err: error }, 'job-event listener failed');
      }
    }
  }
}
