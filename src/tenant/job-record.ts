import { notFound } from '../errors.ts';
import type { QueueNamespace } from './names.ts';

export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A job as a tenant sees it: queue names without the tenant prefix. */
export interface JobRecord {
  id: string;
  queue: string;
  state: JobState;
  data: unknown;
  output: unknown;
  priority: number;
  retryCount: number;
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  retryDelayMax: number | null;
  expireInSeconds: number;
  deleteAfterSeconds: number;
  singletonKey: string | null;
  singletonOn: Date | null;
  groupId: string | null;
  groupTier: string | null;
  deadLetter: string | null;
  policy: string | null;
  startAfter: Date;
  createdOn: Date;
  startedOn: Date | null;
  completedOn: Date | null;
  keepUntil: Date;
  heartbeatOn: Date | null;
  heartbeatSeconds: number | null;
  /** Waits for the jobs it depends on (a flow): not fetched until they have completed. */
  blocked: boolean;
  pendingDependencies: number;
}

export type JobRow = Omit<JobRecord, 'queue'> & { name: string };

/** Null when the row is outside the tenant: rows never leave the namespace. */
export function toJobRecord(names: QueueNamespace, row: JobRow): JobRecord | null {
  const queue = names.unqualify(row.name);
  if (queue === null) return null;
  const { name: _name, deadLetter, ...rest } = row;
  return { ...rest, queue, deadLetter: names.unqualify(deadLetter) };
}

/**
 * A job this gateway has just created: id, queue and state are known, the
 * rest of its row is read when first asked for (once for all fields), so a
 * send that selects only those costs no read.
 */
export class SentJob {
  readonly state = 'created' as const;
  readonly id: string;
  readonly queue: string;
  readonly #load: () => Promise<JobRecord | null>;
  #record: Promise<JobRecord> | undefined;

  constructor(id: string, queue: string, load: () => Promise<JobRecord | null>) {
    this.id = id;
    this.queue = queue;
    this.#load = load;
  }

  record(): Promise<JobRecord> {
    this.#record ??= this.#load().then((record) => {
      if (!record) throw notFound(`job ${this.id} was deleted before it could be read`);
      return record;
    });
    return this.#record;
  }
}

/** What a Job field resolves from. */
export type JobSource = JobRecord | SentJob;
