import type pg from 'pg';
import type { Db, JobAttempt } from 'pg-boss';

export interface LeaseGrant {
  id: string;
  retryCount: number;
  holder: string;
}

/** How one settle call splits the ids it was given. */
export interface LeaseSplit {
  /** Held by the caller: settled fenced to the attempt it was given. */
  held: JobAttempt[];
  /** Never pushed by workAssigned: anyone with WORK may settle them. */
  unleased: string[];
  /** Held by someone else. */
  conflicts: string[];
}

/**
 * Holds of jobs pushed by `workAssigned`, in PostgreSQL so that every gateway
 * instance agrees on them. A settle locks the leases it reads and runs pg-boss
 * inside the same transaction, so a hold cannot move on halfway.
 */
export class Leases {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Records (or moves) the holds of freshly fetched jobs, in one statement. */
  async grant(queue: string, grants: readonly LeaseGrant[]): Promise<void> {
    if (grants.length === 0) return;
    await this.#pool.query(
      `INSERT INTO job_lease (queue, job_id, retry_count, holder)
       SELECT $1, g.id, g.retry_count, g.holder
         FROM unnest($2::uuid[], $3::int[], $4::text[]) AS g(id, retry_count, holder)
       ON CONFLICT (queue, job_id) DO UPDATE
         SET retry_count = excluded.retry_count, holder = excluded.holder, leased_at = now()`,
      [queue, grants.map((g) => g.id), grants.map((g) => g.retryCount), grants.map((g) => g.holder)],
    );
  }

  /**
   * Runs `settle` in a transaction after locking the leases of `ids`. When it
   * reports ids as finished, their leases are removed in the same transaction.
   */
  async withLeases<T>(
    queue: string,
    holder: string | null,
    ids: readonly string[],
    settle: (db: Db, split: LeaseSplit) => Promise<{ result: T; finished: readonly string[] }>,
  ): Promise<{ result: T; finished: readonly string[]; conflicts: string[] }> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string; holder: string; retryCount: number }>(
        `SELECT job_id AS id, holder, retry_count AS "retryCount" FROM job_lease
          WHERE queue = $1 AND job_id = ANY($2::uuid[]) FOR UPDATE`,
        [queue, ids],
      );
      const leased = new Map(rows.map((row) => [row.id, row]));
      const split: LeaseSplit = { held: [], unleased: [], conflicts: [] };
      for (const id of ids) {
        const lease = leased.get(id);
        if (!lease) split.unleased.push(id);
        else if (lease.holder === holder) split.held.push({ id, retryCount: lease.retryCount });
        else split.conflicts.push(id);
      }
      const db: Db = { executeSql: (text, values) => client.query(text, values) };
      const { result, finished } = await settle(db, split);
      if (finished.length) {
        await client.query('DELETE FROM job_lease WHERE queue = $1 AND job_id = ANY($2::uuid[])', [queue, finished]);
      }
      await client.query('COMMIT');
      return { result, finished, conflicts: split.conflicts };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** Drops holds whose job is no longer active in the leased attempt (settled elsewhere, expired, deleted). */
  async purgeStale(bossSchema: string): Promise<number> {
    const schema = `"${bossSchema.replaceAll('"', '""')}"`;
    const { rowCount } = await this.#pool.query(
      `DELETE FROM job_lease l
        WHERE l.leased_at < now() - interval '1 minute'
          AND NOT EXISTS (
            SELECT 1 FROM ${schema}.job j
             WHERE j.name = l.queue AND j.id = l.job_id AND j.state = 'active' AND j.retry_count = l.retry_count)`,
    );
    return rowCount ?? 0;
  }
}
