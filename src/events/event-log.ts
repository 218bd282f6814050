import type pg from 'pg';
import { CURRENT_SNAPSHOT_SQL, CURRENT_XMAX_SQL, HIGH_WATER_SQL, READ_EVENTS_BETWEEN_SQL, READ_EVENTS_SQL, READ_FEED_SQL } from '../sql/event-log.ts';
import { LOG_START, positionOf, type EventPosition } from './event-position.ts';
import { jobEventOf, type RawJobEvent } from './job-event.ts';

/** An event read from the log: it always has its position. */
export type LoggedJobEvent = RawJobEvent & { position: EventPosition };

export interface EventLogFilter {
  /** Only this tenant's queues. */
  tenantId?: string | undefined;
  /** Only this qualified queue (`<tenant>/<queue>`). */
  queue?: string | undefined;
  jobId?: string | undefined;
}

/** A page of the log, and the newest position retention has dropped: below it, events may be gone. */
export interface EventPage {
  events: LoggedJobEvent[];
  floor: EventPosition;
}

/** A page of every tenant's events, and the high-water mark it was read up to. */
export interface FeedPage {
  events: LoggedJobEvent[];
  /** Every event below this transaction id has been read, with those of the page. */
  horizon: bigint;
}

interface EventRow {
  tx: string;
  seq: string | null;
  at: Date;
  op: string;
  state: string;
  queue: string;
  job_id: string;
  retry_count: number;
  progress: string | null;
}

const DEFAULT_PAGE = 500;

/**
 * Reads the job-event log (written by the job triggers) in position order.
 * A snapshot is PostgreSQL's `pg_snapshot` as text: which transactions had
 * committed when it was taken.
 */
export class EventLog {
  readonly #db: Pick<pg.Pool, 'query'>;

  constructor(db: Pick<pg.Pool, 'query'>) {
    this.#db = db;
  }

  /**
   * A page of events after `after` (from the start when null), up to and
   * including `upTo` or, without it, up to the high-water mark: an event not
   * returned yet can only come after the last one returned, so reading on from
   * there never skips one.
   */
  async read(after: EventPosition | null, filter: EventLogFilter = {}, limit = DEFAULT_PAGE, upTo?: EventPosition): Promise<EventPage> {
    const from = after ?? LOG_START;
    const { rows } = await this.#db.query<EventRow & { floor_tx: string; floor_seq: string }>(READ_EVENTS_SQL, [
      String(from.tx),
      String(from.seq),
      filter.tenantId === undefined ? null : `${filter.tenantId}/`,
      filter.queue ?? null,
      filter.jobId ?? null,
      limit,
      upTo === undefined ? null : String(upTo.tx),
      upTo === undefined ? null : String(upTo.seq),
    ]);
    const first = rows[0];
    const floor = first ? (positionOf(first.floor_tx, first.floor_seq) ?? LOG_START) : LOG_START;
    return { events: rows.flatMap(toEvent), floor };
  }

  /** The next page of every tenant's events after `after`, up to the high-water mark. */
  async readFeed(after: EventPosition, limit = DEFAULT_PAGE): Promise<FeedPage> {
    const { rows } = await this.#db.query<EventRow & { horizon: string }>(READ_FEED_SQL, [String(after.tx), String(after.seq), limit]);
    return { events: rows.flatMap(toEvent), horizon: BigInt(rows[0]!.horizon) };
  }

  /**
   * The high-water mark as a position: every event at or before it is in the
   * log for good, and reading up to it (`read`'s `upTo`) sees them all.
   */
  async highWater(): Promise<EventPosition> {
    const { rows } = await this.#db.query<{ horizon: string }>(HIGH_WATER_SQL);
    // Events of transactions still running at the horizon come after it.
    return { tx: BigInt(rows[0]!.horizon), seq: -1n };
  }

  /** Every event committed before this call sits below the returned transaction id. */
  async committedBelow(): Promise<bigint> {
    const { rows } = await this.#db.query<{ xmax: string }>(CURRENT_XMAX_SQL);
    return BigInt(rows[0]!.xmax);
  }

  /** Now, as a snapshot. */
  async snapshot(db: Pick<pg.ClientBase, 'query'> = this.#db): Promise<string> {
    const { rows } = await db.query<{ snapshot: string }>(CURRENT_SNAPSHOT_SQL);
    return rows[0]!.snapshot;
  }

  /** A page of the events committed in snapshot `until` but not in `since`, after `after`. */
  async readBetween(since: string, until: string, after: EventPosition | null, limit = DEFAULT_PAGE): Promise<LoggedJobEvent[]> {
    const from = after ?? LOG_START;
    const { rows } = await this.#db.query<EventRow>(READ_EVENTS_BETWEEN_SQL, [since, until, String(from.tx), String(from.seq), limit]);
    return rows.flatMap(toEvent);
  }
}

function toEvent(row: EventRow): LoggedJobEvent[] {
  if (row.seq === null) return [];
  const position = positionOf(row.tx, row.seq);
  const event = jobEventOf(row.op, row.state, row.queue, row.job_id, row.retry_count, row.at, row.progress ?? undefined, position);
  return event && position ? [{ ...event, position }] : [];
}
