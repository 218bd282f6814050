import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { KEEP_PARTITIONS_SQL, RETENTION_LOCK_SQL } from '../sql/event-log.ts';

const INTERVAL_MS = 10 * 60_000;
/** Dropping a partition locks the log against its writers (every job change): wait no longer than this for it. */
const LOCK_TIMEOUT_MS = 500;

export interface RetentionRun {
  /** False when another instance was at it. */
  ran: boolean;
  created: number;
  dropped: number;
}

/**
 * Keeps the job-event log's day partitions: made two days ahead, dropped once
 * a whole day is older than the retention. Every instance runs it at start and
 * every ten minutes; an advisory lock lets one at a time through.
 */
export class EventLogRetention {
  readonly #pool: pg.Pool;
  readonly #retentionHours: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(pool: pg.Pool, retentionHours: number, logger: Logger) {
    this.#pool = pool;
    this.#retentionHours = retentionHours;
    this.#logger = logger.child({ component: 'event-log-retention' });
  }

  /** Resolves after the first pass, failed or not: the default partition takes events meanwhile. */
  async start(): Promise<void> {
    const pass = () =>
      this.run().then(
        () => {},
        (error: unknown) => this.#logger.warn({ err: error }, 'job-event log retention failed; retrying later'),
      );
    await pass();
    this.#timer = setInterval(() => void pass(), INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One pass, as if it were `at` (tests move it ahead). */
  async run(at: Date = new Date()): Promise<RetentionRun> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${LOCK_TIMEOUT_MS}`);
      const { rows: lock } = await client.query<{ mine: boolean }>(RETENTION_LOCK_SQL);
      if (!lock[0]?.mine) {
        await client.query('COMMIT');
        return { ran: false, created: 0, dropped: 0 };
      }
      const { rows } = await client.query<{ created: number; dropped: number }>(KEEP_PARTITIONS_SQL, [at, this.#retentionHours]);
      await client.query('COMMIT');
      const result = { ran: true, created: rows[0]?.created ?? 0, dropped: rows[0]?.dropped ?? 0 };
      if (result.created || result.dropped) this.#logger.info(result, 'job-event log partitions kept');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
