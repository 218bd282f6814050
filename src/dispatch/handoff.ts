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
