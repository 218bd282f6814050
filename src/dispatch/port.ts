import type { Db, GroupConcurrencyConfig, JobAttempt } from 'pg-boss';
import type { JobRecord } from '../tenant/job-record.ts';

/** Room at workers waiting on a queue, for a send to fill in its own transaction (see `Dispatcher.handoff`). */
export interface Handoff {
  /** Holder of the n-th job the send's claim fetches, for as many jobs as there is room. */
  readonly holders: readonly string[];
  /**
   * The transaction committed: `jobs` (in `holders` order) are held, `sentIds`
   * were created by it. Undefined jobs: no claim was made, the room is given back.
   */
  done(jobs: readonly JobRecord[] | undefined, sentIds?: readonly string[]): void;
}

/**
 * What the tenant layer tells this instance's dispatcher and asks of it
 * (the `Dispatcher` implements it). Queue names are qualified.
 */
export interface DispatchPort {
  /** Jobs just sent through this instance: idle workers here get them without waiting for the event. */
  sent(queue: string, ids: readonly string[]): void;
  /** Room at workers waiting on `queue`, for a send to claim jobs in its own transaction. */
  handoff(queue: string): Handoff | undefined;
  /** Jobs their holder just finished through this instance (`held`: as `heldAttempts` gave them), to free the room at once. */
  settled(queue: string, ids: readonly string[], held?: readonly JobAttempt[]): void;
  /** The attempts at which `holder` holds all of `ids`, as this instance knows; undefined otherwise. */
  heldAttempts(holder: string, queue: string, ids: readonly string[]): JobAttempt[] | undefined;
}

/** What the dispatcher needs of one tenant's queues (`TenantDispatchQueues` implements it). Queue names are qualified. */
export interface DispatchQueues {
  readonly tenantId: string;
  /** Takes up to `limit` ready jobs (they become active), in pg-boss's order. */
  claim(queue: string, limit: number, db?: Db, groups?: { limits: GroupConcurrencyConfig; ignore: readonly string[] }): Promise<JobRecord[]>;
  /** When the next deferred job of `queue` becomes ready, if any. */
  nextStartAfter(queue: string): Promise<Date | null>;
  /** Fails the caller's unsettled jobs back to the queue (a failed attempt). */
  failBack(queue: string, ids: readonly string[], error: object): Promise<number>;
  /** Puts the caller's unsettled jobs back without using a retry (the gateway stops, not the worker). */
  putBack(queue: string, ids: readonly string[]): Promise<number>;
}
