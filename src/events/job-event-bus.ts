import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CONTROL_CHANNEL } from '../auth/tokens.ts';
import type { Logger } from '../logger.ts';
import { JOB_EVENTS_CHANNEL } from '../sql/job-events.ts';
import { listen, listeningTo, notify } from '../sql/notifications.ts';
import { EventLog } from './event-log.ts';
import type { EventPosition } from './event-position.ts';
import { parseJobEvent, positionOfLine, queueOfLine, seqOfLine, type RawJobEvent } from './job-event.ts';

export type JobEventListener = (event: RawJobEvent) => void;
/** Whether a listener wants the events of a qualified queue name (`<tenantId>/<queue>`). */
export type QueueInterest = (name: string) => boolean;

const SYNC_PREFIX = 'S\t';
const MAX_RECONNECT_DELAY_MS = 5_000;
const PING_INTERVAL_MS = 15_000;
/** How often the positions remembered for a catch-up are cut back to those since a fresh snapshot. */
const REBASE_INTERVAL_MS = 2_000;

/**
 * One dedicated LISTEN connection per gateway (job events and control
 * messages), fanned out in memory. Events
 * are routed by the tenant id that prefixes every qualified queue name.
 * Reconnects with back-off after a drop, then catches up from the job-event
 * log before live delivery resumes, and tells `onResync` listeners.
 *
 * The catch-up: `#base` is a snapshot (taken on a LISTEN connection, once every
 * notification of a transaction it saw had arrived) and `#seen` the positions
 * delivered since. After a reconnect, a snapshot taken on the new connection
 * says which events committed meanwhile: those it sees and `#base` does not,
 * less `#seen`, are replayed in position order, while the new connection's
 * notifications wait; those it does not see arrive live. Control messages are
 * not replayed.
 */
export class JobEventBus {
  readonly #databaseUrl: string;
  readonly #logger: Logger;
  readonly #pool: pg.Pool;
  readonly #byTenant = new Map<string, Set<JobEventListener>>();
  readonly #everything = new Map<JobEventListener, QueueInterest | undefined>();
  readonly #notifiedListeners = new Set<(position: EventPosition) => void>();
  readonly #resyncListeners = new Set<() => void>();
  readonly #controlListeners = new Set<(message: string) => void>();
  readonly #syncWaiters = new Map<string, () => void>();
  #client: pg.Client | undefined;
  #connected = false;
  #stopped = false;
  #reconnectDelay = 100;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #nextSync: Promise<void> | undefined;
  readonly #connectionTimeoutMillis: number;
  readonly #log: EventLog;
  #base: string | undefined;
  /** Seq of every event delivered since `#base` (live or replayed): never delivered twice. */
  #seen = new Set<number>();
  /** While a rebase waits for its snapshot's notifications: what has been delivered since it began. */
  #seenSinceRebase: Set<number> | undefined;
  /** Counts connections: a rebase begun on one does not apply to the next. */
  #epoch = 0;
  #rebaseTimer: NodeJS.Timeout | undefined;

  constructor(databaseUrl: string, pool: pg.Pool, logger: Logger, { connectionTimeoutMillis = 5_000 }: { connectionTimeoutMillis?: number } = {}) {
    this.#databaseUrl = databaseUrl;
    this.#pool = pool;
    this.#logger = logger.child({ component: 'job-event-bus' });
    this.#connectionTimeoutMillis = connectionTimeoutMillis;
    this.#log = new EventLog(pool);
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    await this.#connect();
    this.#pingTimer = setInterval(() => this.#ping(), PING_INTERVAL_MS).unref();
    this.#rebaseTimer = setInterval(() => void this.#rebase(), REBASE_INTERVAL_MS).unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    clearInterval(this.#rebaseTimer);
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#databaseUrl,
      keepAlive: true,
      application_name: 'jobgate-listen',
      connectionTimeoutMillis: this.#connectionTimeoutMillis,
    });
    // Job events wait until the connection is caught up, and are delivered after what it replays.
    let held: string[] | undefined = [];
    let lost = false;
    client.on('notification', (message) => {
      if (message.channel === CONTROL_CHANNEL) for (const listener of this.#controlListeners) listener(message.payload ?? '');
      else if (held) held.push(message.payload ?? '');
      else this.#onNotification(message.payload ?? '');
    });
    // Until the connection is ours (#client), its errors and end only fail this attempt.
    client.on('error', (error) => {
      lost = true;
      this.#onDrop(client, error);
    });
    client.on('end', () => {
      lost = true;
      this.#onDrop(client, undefined);
    });
    try {
      await client.connect();
      await client.query(listen([JOB_EVENTS_CHANNEL, CONTROL_CHANNEL]));
      // Every event this snapshot does not see is notified on this connection.
      const snapshot = await this.#log.snapshot(client);
      if (this.#base !== undefined) await this.#catchUp(this.#base, snapshot);
      if (lost) throw new Error('the LISTEN connection was lost while catching up');
      this.#base = snapshot;
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#epoch++;
    this.#connected = true;
    this.#reconnectDelay = 100;
    const waiting = held;
    held = undefined;
    for (const payload of waiting) this.#onNotification(payload);
  }

  /** Replays what the log has that `snapshot` sees and the last base did not, less what was delivered. */
  async #catchUp(since: string, snapshot: string): Promise<void> {
    let after: EventPosition | null = null;
    let replayed = 0;
    for (;;) {
      const page = await this.#log.readBetween(since, snapshot, after);
      for (const event of page) {
        if (!this.#seen.has(Number(event.position.seq))) {
          this.#deliver(event);
          replayed++;
        }
      }
      if (page.length === 0) break;
      after = page[page.length - 1]!.position;
    }
    this.#logger.info({ replayed }, 'job events caught up from the log');
  }

  /**
   * Moves `#base` to a fresh snapshot once every notification it saw has
   * arrived (its marker came back), so that `#seen` only needs what came
   * after: it would otherwise grow with every event.
   */
  async #rebase(): Promise<void> {
    if (!this.#connected || this.#seenSinceRebase || this.#seen.size === 0) return;
    const epoch = this.#epoch;
    const since = new Set<number>();
    this.#seenSinceRebase = since;
    try {
      const snapshot = await this.#log.snapshot();
      await this.sync();
      if (epoch !== this.#epoch || !this.#connected) return;
      this.#base = snapshot;
      this.#seen = since;
    } catch (error) {
      this.#logger.debug({ err: error }, 'job-event base not moved');
    } finally {
      this.#seenSinceRebase = undefined;
    }
  }

  #onDrop(client: pg.Client, error: Error | undefined): void {
    if (this.#client !== client || this.#stopped) return;
    this.#client = undefined;
    this.#connected = false;
    this.#logger.warn({ err: error }, 'LISTEN connection lost; reconnecting');
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const delay = this.#reconnectDelay;
    this.#reconnectDelay = Math.min(this.#reconnectDelay * 2, MAX_RECONNECT_DELAY_MS);
    this.#reconnectTimer = setTimeout(() => {
      this.#connect().then(
        () => {
          this.#logger.info('LISTEN connection restored');
          for (const listener of this.#resyncListeners) listener();
        },
        (error: unknown) => {
          this.#logger.warn({ err: error, retryInMs: this.#reconnectDelay }, 'LISTEN reconnect failed');
          this.#scheduleReconnect();
        },
      );
    }, delay);
    this.#reconnectTimer.unref();
  }

  /**
   * Detects a connection that died without telling us (no FIN, no error), or
   * that no longer listens (a pooler gave the session to someone else).
   */
  #ping(): void {
    const client = this.#client;
    client
      ?.query<{ n: number }>(listeningTo([JOB_EVENTS_CHANNEL, CONTROL_CHANNEL]))
      .then(({ rows }) => {
        if (rows[0]?.n !== 2) this.#onDrop(client, new Error('the LISTEN connection no longer listens'));
      })
      .catch((error: Error) => this.#onDrop(client, error));
  }

  #onNotification(payload: string): void {
    if (payload.startsWith(SYNC_PREFIX)) {
      const token = payload.slice(SYNC_PREFIX.length);
      this.#syncWaiters.get(token)?.();
      this.#syncWaiters.delete(token);
      return;
    }
    // One line per state change, in position order; a statement's changes share a payload.
    const lines = payload.split('\n');
    if (this.#notifiedListeners.size > 0) {
      const position = positionOfLine(lines[lines.length - 1]!);
      if (position) for (const listener of this.#notifiedListeners) listener(position);
    }
    const at = new Date();
    for (const line of lines) {
      const name = queueOfLine(line);
      // Nobody here wants it (a queue without workers on this instance): not parsed, only marked delivered.
      if (name !== undefined && !this.#concerns(name)) {
        const seq = seqOfLine(line);
        if (seq !== undefined) this.#markSeen(seq);
        continue;
      }
      const event = parseJobEvent(line, at);
      if (!event) continue;
      if (event.position && this.#seen.has(Number(event.position.seq))) continue;
      this.#deliver(event);
    }
  }

  #concerns(name: string): boolean {
    for (const interest of this.#everything.values()) if (!interest || interest(name)) return true;
    if (this.#byTenant.size === 0) return false;
    const slash = name.indexOf('/');
    return slash > 0 && this.#byTenant.has(name.slice(0, slash));
  }

  /** By number: a Set of numbers is several times faster than one of bigints. */
  #markSeen(seq: number): void {
    this.#seen.add(seq);
    this.#seenSinceRebase?.add(seq);
  }

  #deliver(event: RawJobEvent): void {
    if (event.position) this.#markSeen(Number(event.position.seq));
    for (const [listener, interest] of this.#everything) if (!interest || interest(event.name)) listener(event);
    const slash = event.name.indexOf('/');
    if (slash <= 0) return;
    const listeners = this.#byTenant.get(event.name.slice(0, slash));
    if (listeners) for (const listener of listeners) listener(event);
  }

  /** Every event of one tenant's queues. Returns the unsubscribe function. */
  subscribeTenant(tenantId: string, listener: JobEventListener): () => void {
    let listeners = this.#byTenant.get(tenantId);
    if (!listeners) this.#byTenant.set(tenantId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#byTenant.delete(tenantId);
    };
  }

  /**
   * Every event of every tenant (of the queues `interest` names, when given):
   * for the dispatcher, never for a client. Lines of queues nobody wants are
   * not parsed at all.
   */
  subscribeAll(listener: JobEventListener, interest?: QueueInterest): () => void {
    this.#everything.set(listener, interest);
    return () => this.#everything.delete(listener);
  }

  /** The position of the newest event of each notification, before its events are delivered. */
  onNotified(listener: (position: EventPosition) => void): () => void {
    this.#notifiedListeners.add(listener);
    return () => this.#notifiedListeners.delete(listener);
  }

  /** Gateway control messages (token revocations), from any instance or the CLI. */
  onControl(listener: (message: string) => void): () => void {
    this.#controlListeners.add(listener);
    return () => this.#controlListeners.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.#resyncListeners.add(listener);
    return () => this.#resyncListeners.delete(listener);
  }

  /**
   * Resolves once every notification committed before this call has been
   * delivered: notifications arrive in commit order, so our own marker
   * arriving proves the ones before it did.
   */
  sync(timeoutMs = 5_000): Promise<void> {
    // Calls made in one turn of the event loop share a marker, sent after all of them: a reconnect
    // re-reads many jobs at once.
    this.#nextSync ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#nextSync = undefined;
      return this.#syncOnce(timeoutMs);
    });
    return this.#nextSync;
  }

  async #syncOnce(timeoutMs: number): Promise<void> {
    const token = randomUUID();
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#syncWaiters.delete(token);
        reject(new Error('event bus sync timed out'));
      }, timeoutMs);
      this.#syncWaiters.set(token, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await this.#pool.query(notify(JOB_EVENTS_CHANNEL, SYNC_PREFIX + token));
    await arrived;
  }
}
