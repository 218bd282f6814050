import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { EventLog, type LoggedJobEvent } from './event-log.ts';
import { comparePositions, laterOf, type EventPosition } from './event-position.ts';
import type { JobEventBus } from './job-event-bus.ts';

export type FeedListener = (event: LoggedJobEvent) => void;

/**
 * A tenant's listeners (each with the position it joined at) and its events
 * read but not yet handed on. Past MAX_PENDING the feed stops holding the
 * tenant's events and reads them again from the log, after `gapAfter`, once
 * the line has drained.
 */
interface TenantLine {
  readonly tenantId: string;
  readonly listeners: Map<FeedListener, EventPosition>;
  pending: LoggedJobEvent[];
  /** The next pending event to hand on. */
  head: number;
  /** The tenant's events after this position are in the log only; null when all are in `pending` or delivered. */
  gapAfter: EventPosition | null;
  /** A read of the gap is in flight. */
  filling: boolean;
  /** The feed passed over an event of the tenant since the last read of the gap began. */
  skipped: boolean;
}

const PAGE = 1_000;
/** Events of one tenant handed on per turn of the event loop, before the next tenant's: a flood of one delays the others by a slice, not by its backlog. */
const SLICE = 100;
/** Events of one tenant held for delivery; past this the feed reads the tenant's later ones from the log once it has caught up. */
const MAX_PENDING = 5_000;
/** While a notified event waits for older transactions to end: the first retry, doubled up to the last. */
const FIRST_RETRY_MS = 2;
const LAST_RETRY_MS = 100;
/** Reads now and then though nothing was notified: a notification lost to the LISTEN connection costs this much latency at most. */
const SAFETY_READ_MS = 1_000;
const ERROR_RETRY_MS = 500;
/** A listener's start while the feed starts: after every event, so none reaches it yet. */
const NOT_JOINED: EventPosition = { tx: 2n ** 64n, seq: 0n };

/**
 * The job-event log as one live stream per gateway, in position order: what
 * `jobEvents` delivers. A notification (or the safety timer) wakes it; it then
 * reads every event up to the high-water mark, so an event is delivered once
 * all older transactions have ended, and a subscriber's cursor (the last
 * event's position) is where a replay from the log takes over with no gap and
 * no repeat. It reads only while someone listens. Each tenant's events wait
 * in a line of their own and are handed on a slice per tenant per turn of the
 * event loop, so that no tenant's flood holds back another's events.
 */
export class EventFeed {
  readonly #log: EventLog;
  readonly #bus: JobEventBus;
  readonly #logger: Logger;
  readonly #lines = new Map<string, TenantLine>();
  /** Lines with pending events, in turn order. */
  readonly #queued = new Set<TenantLine>();
  #pumping: NodeJS.Immediate | undefined;
  #listenerCount = 0;
  /** Every event at or before it has been read (and is delivered or pending); null while nobody listens. */
  #position: EventPosition | null = null;
  /** Every event below this transaction id has been read. */
  #readHorizon = 0n;
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
    let line = this.#lines.get(tenantId);
    if (!line) this.#lines.set(tenantId, (line = { tenantId, listeners: new Map(), pending: [], head: 0, gapAfter: null, filling: false, skipped: false }));
    const listeners = line.listeners;
    listeners.set(listener, NOT_JOINED);
    this.#listenerCount++;
    let subscribed = true;
    const unsubscribe = () => {
      if (!subscribed) return;
      subscribed = false;
      listeners.delete(listener);
      if (listeners.size === 0 && this.#lines.get(tenantId) === line) {
        this.#lines.delete(tenantId);
        this.#queued.delete(line);
      }
      if (--this.#listenerCount === 0) this.#idle();
    };
    try {
      const position = this.#position ?? (await this.#start());
      // Events read before this position and still pending are not this listener's.
      if (subscribed) listeners.set(listener, position);
      return { position, unsubscribe };
    } catch (error) {
      unsubscribe();
      throw error;
    }
  }

  /** Resolves once every event committed before the call has been delivered. */
  async caughtUp(): Promise<void> {
    const below = await this.#log.committedBelow();
    if (this.#position && this.#readHorizon >= below && !this.#pendingBelow(below)) return;
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
          this.#readHorizon = horizon;
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
    clearImmediate(this.#pumping);
    this.#pumping = undefined;
    for (const line of this.#lines.values()) {
      line.pending = [];
      line.head = 0;
      line.gapAfter = null;
    }
    this.#queued.clear();
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
          this.#enqueue(event);
        }
        if (page.events.length === PAGE) {
          this.#again = true;
          continue;
        }
        this.#position = laterOf(this.#position, { tx: page.horizon, seq: -1n });
        this.#readHorizon = page.horizon;
        this.#settleWaiters();
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

  #settleWaiters(): void {
    for (let i = this.#horizonWaiters.length - 1; i >= 0; i--) {
      const waiter = this.#horizonWaiters[i]!;
      if (this.#readHorizon < waiter.below || this.#pendingBelow(waiter.below)) continue;
      this.#horizonWaiters.splice(i, 1);
      waiter.resolve();
    }
  }

  /** Whether an event of a transaction below `below` still waits for delivery (each line is in position order). */
  #pendingBelow(below: bigint): boolean {
    for (const line of this.#lines.values()) {
      const next = line.head < line.pending.length ? line.pending[line.head]!.position : line.gapAfter;
      if (next && next.tx < below) return true;
    }
    return false;
  }

  #enqueue(event: LoggedJobEvent): void {
    const slash = event.name.indexOf('/');
    if (slash <= 0) return;
    const line = this.#lines.get(event.name.slice(0, slash));
    if (!line) return;
    if (line.gapAfter === null && line.pending.length - line.head >= MAX_PENDING) line.gapAfter = line.pending[line.pending.length - 1]!.position;
    if (line.gapAfter !== null) {
      line.skipped = true;
      return;
    }
    line.pending.push(event);
    this.#queue(line);
  }

  #queue(line: TenantLine): void {
    this.#queued.add(line);
    this.#pumping ??= setImmediate(() => this.#pump());
  }

  /** One turn: up to a slice of every waiting tenant's events, tenants in turn. */
  #pump(): void {
    this.#pumping = undefined;
    for (const line of [...this.#queued]) {
      const end = Math.min(line.head + SLICE, line.pending.length);
      for (; line.head < end; line.head++) {
        const event = line.pending[line.head]!;
        for (const [listener, from] of line.listeners) if (comparePositions(event.position, from) > 0) this.#call(listener, event);
      }
      this.#queued.delete(line);
      if (line.head < line.pending.length) {
        this.#queued.add(line);
        if (line.head >= 4 * SLICE && line.head * 2 >= line.pending.length) {
          line.pending = line.pending.slice(line.head);
          line.head = 0;
        }
      } else {
        line.pending = [];
        line.head = 0;
      }
      if (line.gapAfter !== null && !line.filling && line.head === line.pending.length) void this.#fill(line);
    }
    this.#settleWaiters();
    if (this.#queued.size > 0) this.#pumping = setImmediate(() => this.#pump());
  }

  /**
   * Reads a line's gap from the log, a page at a time while nothing else of
   * the line waits; the gap closes once a read reaches the feed's position with
   * nothing of the tenant passed over meanwhile.
   */
  async #fill(line: TenantLine): Promise<void> {
    line.filling = true;
    try {
      while (line.gapAfter !== null && line.head === line.pending.length && this.#lines.get(line.tenantId) === line) {
        const after = line.gapAfter;
        const upTo = this.#position;
        if (upTo === null) return;
        line.skipped = false;
        const page = await this.#log.read(after, { tenantId: line.tenantId }, PAGE, upTo);
        if (line.gapAfter !== after || this.#lines.get(line.tenantId) !== line) return;
        if (comparePositions(page.floor, after) > 0)
          this.#logger.error({ tenant: line.tenantId }, 'job events dropped by retention before the feed delivered them');
        if (page.events.length === PAGE) line.gapAfter = page.events[page.events.length - 1]!.position;
        else line.gapAfter = line.skipped ? upTo : null;
        if (page.events.length > 0) {
          line.pending.push(...page.events);
          this.#queue(line);
        }
      }
      this.#settleWaiters();
    } catch (error) {
      this.#logger.warn({ err: error }, 'job-event log read failed; retrying');
      setTimeout(() => this.#queue(line), ERROR_RETRY_MS).unref();
    } finally {
      line.filling = false;
    }
  }

  #call(listener: FeedListener, event: LoggedJobEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#logger.error({ err: error }, 'job-event listener failed');
    }
  }
}
