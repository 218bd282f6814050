import type { GraphQLError } from 'graphql';

/**
 * Root fields that settle jobs pushed to a worker. Settling what the caller
 * holds is bounded by the worker's concurrency already, so it is counted
 * against the tenant's operation rate but never refused by it: a refusal
 * would leave work done and the job held, to run again after its expiry.
 */
export const SETTLEMENT_FIELDS: ReadonlySet<string> = new Set(['completeJob', 'completeJobs', 'failJob', 'touchJob', 'reportProgress']);

/**
 * The operation-rate admission of one operation. For a mutation made only of
 * settlement fields it is deferred to the settle, which knows whether the jobs
 * are the caller's (held by its connection, or named with authentic leases):
 * if they are, the operation takes its share of the rate and is never
 * refused; otherwise it is admitted then, as any other operation is. Either
 * way it counts once.
 */
export class OperationAdmission {
  #take: (() => GraphQLError | null) | null = null;
  #charge: (() => void) | null = null;

  /** `take` admits the operation (the refusal, or null); `charge` counts it without ever refusing. */
  defer(take: () => GraphQLError | null, charge: () => void): void {
    this.#take = take;
    this.#charge = charge;
  }

  /** A settle of jobs the caller does not (all) hold: the deferred admission, once; throws when refused. */
  admitUnheld(): void {
    const refused = this.#settle()?.take();
    if (refused) throw refused;
  }

  /** A settle of jobs the caller holds: counted, never refused. */
  chargeHeld(): void {
    this.#settle()?.charge();
  }

  /**
   * At the end of the operation: one whose settles all failed before they
   * knew whose jobs they named (bad input) was neither admitted nor counted,
   * and is admitted now, as any other operation is. The refusal to answer
   * instead of its result, or null.
   */
  finish(): GraphQLError | null {
    return this.#settle()?.take() ?? null;
  }

  #settle(): { take: () => GraphQLError | null; charge: () => void } | null {
    const take = this.#take;
    const charge = this.#charge;
    this.#take = null;
    this.#charge = null;
    return take && charge ? { take, charge } : null;
  }
}
