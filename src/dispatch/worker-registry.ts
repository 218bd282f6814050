import type pg from 'pg';
import { quoteIdentifier } from '../sql/identifiers.ts';

export interface WorkerSessionRow {
  id: string;
  /** Qualified pg-boss names. */
  queues: string[];
  concurrency: number;
  inHand: number;
  connectedAt: Date;
  seenAt: Date;
}

/** A session not refreshed for this long belongs to a gateway that is gone. */
const LIVE_WINDOW = "interval '90 seconds'";

/**
 * Live `workAssigned` subscriptions of every gateway instance, in PostgreSQL,
 * so that any instance can show a tenant all of its workers.
 */
export class WorkerRegistry {
  readonly #pool: pg.Pool;
  readonly #bossSchema: string;

  constructor(pool: pg.Pool, bossSchema: string) {
    this.#pool = pool;
    this.#bossSchema = quoteIdentifier(bossSchema);
  }

  async register(session: { id: string; tenantId: string; instanceId: string; holder: string; queues: readonly string[]; concurrency: number }): Promise<void> {
    await this.#pool.query(
      `INSERT INTO worker_session (id, tenant_id, instance_id, holder, queues, concurrency) VALUES ($1, $2, $3, $4, $5, $6)`,
      [session.id, session.tenantId, session.instanceId, session.holder, session.queues, session.concurrency],
    );
  }

  async unregister(id: string): Promise<void> {
    await this.#pool.query('DELETE FROM worker_session WHERE id = $1', [id]);
  }

  async refresh(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.#pool.query('UPDATE worker_session SET seen_at = now() WHERE id = ANY($1)', [ids]);
  }

  /** Sessions of gateways that stopped without unregistering. */
  async purgeStale(): Promise<void> {
    await this.#pool.query(`DELETE FROM worker_session WHERE seen_at < now() - ${LIVE_WINDOW}`);
  }

  /**
   * A tenant's live workers with the jobs each holds right now. `job_lease`
   * has no index but its key (holds live for seconds), so its rows are read
   * once for all the workers, not once per worker.
   */
  async list(tenantId: string): Promise<WorkerSessionRow[]> {
    const { rows } = await this.#pool.query<WorkerSessionRow>(
      `WITH live AS (
         SELECT * FROM worker_session WHERE tenant_id = $1 AND seen_at > now() - ${LIVE_WINDOW}
       ), held AS (
         SELECT l.holder, l.queue, count(*) AS n
           FROM job_lease l JOIN ${this.#bossSchema}.job j
             ON j.name = l.queue AND j.id = l.job_id AND j.state = 'active' AND j.retry_count = l.retry_count
          WHERE l.holder IN (SELECT holder FROM live)
          GROUP BY l.holder, l.queue
       )
       SELECT w.id, w.queues, w.concurrency, w.connected_at AS "connectedAt", w.seen_at AS "seenAt",
              COALESCE((SELECT sum(h.n) FROM held h WHERE h.holder = w.holder AND h.queue = ANY(w.queues)), 0)::int AS "inHand"
         FROM live w
        ORDER BY w.connected_at, w.id`,
      [tenantId],
    );
    return rows;
  }
}
