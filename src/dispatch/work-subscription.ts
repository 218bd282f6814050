import { randomUUID } from 'node:crypto';
import type { GroupConcurrencyConfig } from 'pg-boss';
import type { JobRecord } from '../tenant/job-record.ts';
import type { DispatchQueues } from './port.ts';

/** One `workAssigned` subscription's request. */
export interface WorkRequest {
  queues: DispatchQueues;
  holder: string;
  /** Qualified pg-boss names. */
  names: readonly string[];
  concurrency: number;
  groupLimits?: GroupConcurrencyConfig | undefined;
}

/** A job pushed to a subscription and not settled yet, as the dispatcher knows it. */
export interface HeldJob {
  queue: string;
  id: string;
  retryCount: number;
  /** The ACTIVE notification of this attempt arrived: a CREATED or RETRY after it puts the job back in the queue. */
  started: boolean;
  /** The claim that made the hold has committed (before that, the database does not show it yet). */
  committed: boolean;
}

/** One `workAssigned` subscription on this instance: what it holds and how much more it may take. */
export class WorkSubscription {
  readonly id = randomUUID();
  /** By job key (see `jobKey`). */
  readonly held = new Map<string, HeldJob>();
  readonly holder: string;
  readonly queues: DispatchQueues;
  /** Qualified pg-boss names. */
  readonly names: readonly string[];
  readonly concurrency: number;
  /** Jobs of one group active at once, across the tenant's workers and instances (pg-boss's group concurrency). */
  readonly groupLimits: GroupConcurrencyConfig | undefined;
  /** Hands the worker the jobs of one claim (one by one, or as one batch). */
  readonly deliver: (jobs: JobRecord[]) => void;
  /** A draining worker keeps what it holds and gets nothing new. */
  paused = false;
  /** Room promised to claims still in flight (see `QueueSlot.reserve`). */
  reserved = 0;
  /** Settles once the stream has taken the last job pushed to it. */
  lastPush: Promise<unknown> = Promise.resolve();

  constructor(request: WorkRequest, deliver: (jobs: JobRecord[]) => void) {
    this.holder = request.holder;
    this.queues = request.queues;
    this.names = request.names;
    this.concurrency = request.concurrency;
    this.groupLimits = request.groupLimits;
    this.deliver = deliver;
  }

  /** Jobs it may be given now: its concurrency less what it holds and what claims in flight promised it. */
  get free(): number {
    return this.paused ? 0 : Math.max(0, this.concurrency - this.held.size - this.reserved);
  }
}

/** Key of a job in the dispatcher's maps. */
export const jobKey = (queue: string, id: string) => `${queue}\u0000${id}`;
