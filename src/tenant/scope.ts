import type { Db, PgBoss } from 'pg-boss';
import type { JobRecord } from './job-record.ts';
import type { QueueNamespace } from './names.ts';

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
 * What TenantQueues shares with the modules that bring the rest of pg-boss
 * to a tenant (flows, topics, redrive, purge, edits, search): one tenant's
 * namespace, pg-boss, and the few steps every one of them needs. Names in
 * and out of it are qualified (`<tenantId>/<name>`) unless said otherwise.
 */
export interface TenantScope {
  readonly tenantId: string;
  readonly names: QueueNamespace;
  readonly boss: PgBoss;
  /** pg-boss's schema, quoted for SQL. */
  readonly schema: string;
  readonly limits: QueueLimits;
  /** Runs the gateway's statements (prepared once per connection). */
  readonly db: Db;
  queueExists(qualified: string): Promise<boolean>;
  /** Creates a queue with default options unless it exists. */
  ensureQueue(qualified: string): Promise<void>;
  /** Runs a write against a queue, creating the queue with defaults on first use; pg-boss's assertions become BAD_USER_INPUT. */
  withQueue<T>(qualified: string, action: () => Promise<T>): Promise<T>;
  /** Jobs just created in a queue: idle workers here get them at once, and they are counted. */
  sent(qualified: string, ids: readonly string[]): void;
  /** A job by the tenant's queue name, or null. */
  getJob(queue: string, id: string): Promise<JobRecord | null>;
}
