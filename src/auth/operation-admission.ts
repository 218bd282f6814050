import type { GraphQLError } from 'graphql';

/**
 * Root fields that settle jobs pushed to a worker. Settling what the caller
 * holds is bounded by the worker's concurrency already, so it is counted but
 * never refused by the tenant's operation rate: a refusal would leave work
 * done and the job held, to run again after its expiry.
 */
export const SETTLEMENT_FIELDS: ReadonlySet<string> = new Set(['completeJob', 'completeJobs', 'failJob', 'touchJob', 'reportProgress']);

/**
 * The operation-rate admission of one operation. For a mutation made only of
 * settlement fields it is deferred to the settle, which knows whether the jobs
 * are the caller's (held by its connection, or named with valid leases): if
 * they are, the operation is never refused; otherwise it is admitted then, as
 * any other operation is.
 */
export class OperationAdmission {
  #deferred: (() => GraphQLError | null) | null = null;

  defer(admit: () => GraphQLError | null): void {
    this.#deferred = admit;
  }

  /** A settle of jobs the caller does not (all) hold: the deferred admission, once; throws when refused. */
  admitUnheld(): void {
    const admit = this.#deferred;
    this.#deferred = null;
    const refused = admit?.();
    if (refused) throw refused;
  }

  /** A settle whose leases turned out stale: it costs an operation like any other, after the fact. */
  chargeStale(): void {
    const admit = this.#deferred;
    this.#deferred = null;
    admit?.();
  }
}
