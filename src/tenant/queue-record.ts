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

export type QueueRow = QueueRecord;

export function toQueueRecord(names: QueueNamespace, row: QueueRow): QueueRecord | null {
  const name = names.unqualify(row.name);
  if (name === null) return null;
  return { ...row, name, deadLetter: names.unqualify(row.deadLetter) };
}
