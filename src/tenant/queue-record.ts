import type { QueueNamespace } from './names.ts';

export const QUEUE_POLICIES = ['standard', 'short', 'singleton', 'stately', 'exclusive', 'key_strict_fifo'] as const;
export type QueuePolicy = (typeof QUEUE_POLICIES)[number];

/** Options a tenant may set on a queue; every job of the queue inherits them unless overridden. */
export interface QueueSettings {
  policy?: QueuePolicy | undefined;
  deadLetter?: string | null | undefined;
  retryLimit?: number | undefined;
  retryDelay?: number | undefined;
  retryBackoff?: boolean | undefined;
  retryDelayMax?: number | null | undefined;
  expireInSeconds?: number | undefined;
  retentionSeconds?: number | undefined;
  deleteAfterSeconds?: number | undefined;
  heartbeatSeconds?: number | null | undefined;
  partition?: boolean | undefined;
  warningQueueSize?: number | undefined;
}

export interface QueueCounts {
  queuedCount: number;
  deferredCount: number;
  activeCount: number;
  completedCount: number;
  failedCount: number;
  cancelledCount: number;
  totalCount: number;
}

export interface QueueRecord extends QueueCounts {
  name: string;
  policy: string;
  deadLetter: string | null;
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  retryDelayMax: number | null;
  expireInSeconds: number;
  retentionSeconds: number;
  deleteAfterSeconds: number;
  heartbeatSeconds: number | null;
  partition: boolean;
  createdOn: Date;
  updatedOn: Date;
}

export const QUEUE_COLUMNS = `q.name, q.policy, q.dead_letter AS "deadLetter", q.retry_limit AS "retryLimit",
  q.retry_delay AS "retryDelay", q.retry_backoff AS "retryBackoff", q.retry_delay_max AS "retryDelayMax",
  q.expire_seconds AS "expireInSeconds", q.retention_seconds AS "retentionSeconds",
  q.deletion_seconds AS "deleteAfterSeconds", q.heartbeat_seconds AS "heartbeatSeconds",
  q.partition, q.created_on AS "createdOn", q.updated_on AS "updatedOn"`;

/**
 * Live counts from the job table (pg-boss's own queue counters are
 * snapshots refreshed by its monitor). Queued includes deferred jobs, as in pg-boss.
 */
export function countColumns(alias: string): string {
  const j = alias;
  return `
  count(*) FILTER (WHERE ${j}.state IN ('created', 'retry'))::int AS "queuedCount",
  count(*) FILTER (WHERE ${j}.state IN ('created', 'retry') AND ${j}.start_after > now())::int AS "deferredCount",
  count(*) FILTER (WHERE ${j}.state = 'active')::int AS "activeCount",
  count(*) FILTER (WHERE ${j}.state = 'completed')::int AS "completedCount",
  count(*) FILTER (WHERE ${j}.state = 'failed')::int AS "failedCount",
  count(*) FILTER (WHERE ${j}.state = 'cancelled')::int AS "cancelledCount",
  count(${j}.id)::int AS "totalCount"`;
}

export type QueueRow = QueueRecord;

export function toQueueRecord(names: QueueNamespace, row: QueueRow): QueueRecord | null {
  const name = names.unqualify(row.name);
  if (name === null) return null;
  return { ...row, name, deadLetter: names.unqualify(row.deadLetter) };
}
