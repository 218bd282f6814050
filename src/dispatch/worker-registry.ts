import type pg from 'pg';
import type { QuotedIdentifier } from '../sql/identifiers.ts';
import {
  liveWorkerSessions,
  PURGE_STALE_WORKER_SESSIONS,
  refreshWorkerSessions,
  registerWorkerSession,
  unregisterWorkerSession,
  type WorkerSessionInsert,
} from '../sql/worker-sessions.ts';

export interface WorkerSessionRow {
  id: string;
  /** Qualified pg-boss names. */
  queues: string[];
  concurrency: number;
  inHand: number;
  connectedAt: Date;
  seenAt: Date;
}

/**
 * Live `workAssigned` subscriptions of every gateway instance, in PostgreSQL,
 * so that any instance can show a tenant all of its workers.
 */
export class WorkerRegistry {
  readonly #pool: pg.Pool;
  readonly #bossSchema: QuotedIdentifier;

  constructor(pool: pg.Pool, bossSchema: QuotedIdentifier) {
    this.#pool = pool;
    this.#bossSchema = bossSchema;
  }

  async register(session: WorkerSessionInsert): Promise<void> {
    const plan = registerWorkerSession(session);
    await this.#pool.query(plan.text, plan.values);
  }

  async unregister(id: string): Promise<void> {
    const plan = unregisterWorkerSession(id);
    await this.#pool.query(plan.text, plan.values);
  }

  async refresh(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const plan = refreshWorkerSessions(ids);
    await this.#pool.query(plan.text, plan.values);
  }

  /** Sessions of gateways that stopped without unregistering. */
  async purgeStale(): Promise<void> {
    await this.#pool.query(PURGE_STALE_WORKER_SESSIONS);
  }

  /** A tenant's live workers with the jobs each holds right now. */
  async list(tenantId: string): Promise<WorkerSessionRow[]> {
    const plan = liveWorkerSessions(this.#bossSchema, tenantId);
    const { rows } = await this.#pool.query<WorkerSessionRow>(plan.text, plan.values);
    return rows;
  }
}
