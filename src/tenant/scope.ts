import type { Db, PgBoss } from 'pg-boss';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import type { QuotedIdentifier } from '../sql/identifiers.ts';
import { jobInQueue } from '../sql/jobs.ts';
import { rowsOf, type SqlPlan } from '../sql/plan.ts';
import { queueExists as queueExistsPlan } from '../sql/queues.ts';
import { admitQueue, oneCreateAtATime } from './caps.ts';
import { isUuid } from './job-input.ts';
import { toJobRecord, type JobRecord, type JobRow } from './job-record.ts';
import { QueueNamespace } from './names.ts';
import type { WorkIdentity } from './work-identity.ts';

export interface QueueLimits {
  maxJobDataBytes: number;
  maxBatchSize: number;
  maxProgressBytes: number;
  /** Queues a tenant may have (every queue is a partition of the job table); QUOTA_EXCEEDED past it. */
  tenantMaxQueues: number;
  /** Schedules a tenant may have; QUOTA_EXCEEDED past it. */
  tenantMaxSchedules: number;
}

/**
 * What the modules that bring pg-boss to a tenant share (queues, sends, jobs,
 * settlements, schedules, flows, topics, redrive, purge, edits, search): one
 * tenant's namespace, pg-boss, the caller's work identity, and the few steps
 * every one of them needs. Names in and out of it are qualified
 * (`<tenantId>/<name>`) unless said otherwise.
 */
export interface TenantScope {
  readonly tenantId: string;
  readonly names: QueueNamespace;
  readonly boss: PgBoss;
  /** pg-boss's schema, quoted for SQL. */
  readonly schema: QuotedIdentifier;
  readonly limits: QueueLimits;
  /** Runs the gateway's statements (prepared once per connection). */
  readonly db: Db;
  /** Who is calling, and this instance's dispatcher and leases. */
  readonly work: WorkIdentity;
  /** Rows of a plan run on `db`. */
  rows<T>(plan: SqlPlan): Promise<T[]>;
  /** `db`: inside a transaction, its own connection (waiting for a second one from the pool could deadlock it). */
  queueExists(qualified: string, db?: Db): Promise<boolean>;
  /** Creates a queue with default options unless it exists; QUOTA_EXCEEDED past the tenant's queue cap. */
  ensureQueue(qualified: string): Promise<void>;
  /** Runs `create` (of a queue) unless the tenant is at its queue cap, one create of the tenant at a time on this instance. */
  createQueueWithinCap(qualified: string, create: () => Promise<void>): Promise<void>;
  /** Runs a create of the tenant's (a schedule) one at a time with its other creates on this instance. */
  oneCreateAtATime<T>(create: () => Promise<T>): Promise<T>;
  /** Runs a write against a queue, creating the queue with defaults on first use; pg-boss's assertions become BAD_USER_INPUT. */
  withQueue<T>(qualified: string, action: () => Promise<T>): Promise<T>;
  /** Jobs just created in a queue: idle workers here get them at once, and they are counted. */
  sent(qualified: string, ids: readonly string[]): void;
  /** A job by the tenant's queue name, or null. */
  getJob(queue: string, id: string): Promise<JobRecord | null>;
}

/** The scope of one tenant for one caller. `schema`: pg-boss's, quoted. */
export function createTenantScope(boss: PgBoss, schema: QuotedIdentifier, tenantId: string, limits: QueueLimits, work: WorkIdentity): TenantScope {
  const names = new QueueNamespace(tenantId);
  const capKey = `${schema}\n${tenantId}`;
  const rows = <T>(plan: SqlPlan): Promise<T[]> => rowsOf<T>(work.db, plan);
  const queueExists = async (qualified: string, db: Db = work.db) => (await rowsOf(db, queueExistsPlan(schema, qualified))).length > 0;
  const createQueueWithinCap = (qualified: string, create: () => Promise<void>) =>
    oneCreateAtATime(capKey, async () => {
      if ((await admitQueue(work.db, schema, names.prefix, qualified, limits.tenantMaxQueues)) === 'admitted') await create();
    });
  const ensureQueue = async (qualified: string) => {
    if (await queueExists(qualified)) return;
    await createQueueWithinCap(qualified, () => boss.createQueue(qualified));
  };
  return {
    tenantId,
    names,
    boss,
    schema,
    limits,
    db: work.db,
    work,
    rows,
    queueExists,
    ensureQueue,
    createQueueWithinCap,
    oneCreateAtATime: (create) => oneCreateAtATime(capKey, create),
    async withQueue(qualified, action) {
      try {
        return await action();
      } catch (error) {
        if (!isQueueNotFound(error)) throw asInputError(error);
      }
      await ensureQueue(qualified);
      return action().catch((error: unknown) => {
        throw asInputError(error);
      });
    },
    sent(qualified, ids) {
      if (ids.length === 0) return;
      work.dispatch?.sent(qualified, ids);
      work.observer?.sent(tenantId, names.unqualify(qualified) ?? '', ids.length);
    },
    async getJob(queue, id) {
      if (!isUuid(id)) return null;
      const [row] = await rows<JobRow>(jobInQueue(schema, names.qualify(queue), id));
      return row ? toJobRecord(names, row) : null;
    },
  };
}
