import { notFound } from '../errors.ts';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import { activeJobIds } from '../sql/jobs.ts';
import { rowsOf } from '../sql/plan.ts';
import { queuePartition } from '../sql/queues.ts';
import type { TenantScope } from './scope.ts';

/** queued: created and retry; stored: completed, cancelled and failed; all: every job, active ones too. */
export type PurgeKind = 'queued' | 'stored' | 'all';

/** Active jobs of a partitioned queue deleted per statement. */
const ACTIVE_BATCH = 1_000;

/**
 * pg-boss's bulk deletes for one queue of the tenant, each reporting how
 * many jobs it deleted. Every deleted job reaches jobEvents as DELETED, so
 * a partitioned queue is not truncated (as pg-boss's deleteAllJobs does
 * with one): a truncate fires no trigger.
 */
export class TenantPurge {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  async purge(kind: PurgeKind, queue: string): Promise<number> {
    const { names, boss, db, schema } = this.#scope;
    const qualified = names.qualify(queue);
    const [found] = await rowsOf<{ partition: boolean }>(db, queuePartition(schema, qualified));
    if (!found) throw notFound(`no queue "${queue}"`);
    try {
      if (kind === 'queued') return await boss.deleteQueuedJobs(qualified);
      if (kind === 'stored') return await boss.deleteStoredJobs(qualified);
      if (!found.partition) return (await boss.deleteAllJobs(qualified)) ?? 0;
      let deleted = (await boss.deleteQueuedJobs(qualified)) + (await boss.deleteStoredJobs(qualified));
      for (;;) {
        const ids = (await rowsOf<{ id: string }>(db, activeJobIds(schema, qualified, ACTIVE_BATCH))).map((row) => row.id);
        if (ids.length === 0) return deleted;
        const response = (await boss.deleteJob(qualified, ids, { db })) as { affected?: number };
        deleted += response.affected ?? 0;
        // Deleted meanwhile by someone else: the next read finds the rest.
        if (!response.affected) return deleted;
      }
    } catch (error) {
      if (isQueueNotFound(error)) throw notFound(`no queue "${queue}"`);
      throw asInputError(error);
    }
  }
}
