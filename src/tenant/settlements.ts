import type { Db, JobAttempt } from 'pg-boss';
import type { LeaseTokens } from '../dispatch/lease-tokens.ts';
import type { LeaseSplit, PresentedLeases } from '../dispatch/leases.ts';
import { badInput, conflict, notFound } from '../errors.ts';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import type { SettleResponse } from '../pgboss/settle-response.ts';
import { activeAttempts } from '../sql/jobs.ts';
import { rowsOf, runPlan } from '../sql/plan.ts';
import { reportProgress } from '../sql/progress.ts';
import { assertJobPayload, isUuid } from './job-input.ts';
import { readProgress } from './job-progress.ts';
import type { JobRecord } from './job-record.ts';
import type { TenantScope } from './scope.ts';

export interface CommandResult {
  requested: number;
  affected: number;
  /** Ids held by another worker connection (complete, fail, touch). */
  conflicts?: number;
}

export type JobCommand = 'cancel' | 'resume' | 'retry' | 'delete' | 'complete' | 'fail' | 'touch';

/**
 * Commands on a tenant's jobs: cancel, resume, retry, delete, and the
 * settlements (complete, fail, touch, progress), fenced by the holds of jobs
 * pushed by workAssigned: only their holder, or their current lease, settles them.
 */
export class TenantSettlements {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  #validIds(ids: readonly string[]): string[] {
    if (ids.length > this.#scope.limits.maxBatchSize) {
      throw badInput(`at most ${this.#scope.limits.maxBatchSize} ids per call; got ${ids.length}`, { argument: 'ids', limit: this.#scope.limits.maxBatchSize });
    }
    // Malformed ids cannot name a job: they are simply not found.
    return [...new Set(ids.filter(isUuid))];
  }

  #output(value: unknown, argument: string): object | null {
    if (value === undefined || value === null) return null;
    return assertJobPayload(typeof value === 'string' ? { message: value } : value, this.#scope.limits.maxJobDataBytes, argument);
  }

  /**
   * What each presented lease says, by job id (`leases[n]` goes with `ids[n]`).
   * A token this gateway did not issue for that job of that queue reads as
   * null: settling with it is CONFLICT, whichever tenant it came from.
   */
  #presentedLeases(qualified: string, ids: readonly string[], leases: readonly (string | null | undefined)[] | undefined): PresentedLeases {
    const presented = new Map<string, ReturnType<LeaseTokens['read']>>();
    if (!leases?.length) return presented;
    if (leases.length !== ids.length) throw badInput('"lease" must give one lease per id, in the same order', { argument: 'lease' });
    for (const [index, id] of ids.entries()) {
      const token = leases[index];
      if (token !== null && token !== undefined && isUuid(id)) presented.set(id, this.#scope.work.leaseTokens.read(token, qualified, id));
    }
    return presented;
  }

  /**
   * The deferred rate-limit admission of a settle: counted but never refused
   * for jobs the caller holds (its connection, or authentic leases for every
   * id, stale or not), the usual one otherwise.
   */
  #admitSettle(qualified: string, ids: readonly string[], presented: PresentedLeases): JobAttempt[] | undefined {
    const holder = this.#scope.work.holder;
    const held = holder === null ? undefined : this.#scope.work.dispatch?.heldAttempts(holder, qualified, ids);
    if (held || (ids.length > 0 && ids.every((id) => presented.get(id)))) this.#scope.work.admission?.chargeHeld();
    else this.#scope.work.admission?.admitUnheld();
    return held;
  }

  /** Applies a command to jobs of one of the tenant's queues; a missing queue is NOT_FOUND. */
  async command(
    kind: JobCommand,
    queue: string,
    ids: readonly string[],
    payload?: unknown,
    leases?: readonly (string | null | undefined)[],
  ): Promise<CommandResult> {
    const qualified = this.#scope.names.qualify(queue);
    const presented = this.#presentedLeases(qualified, ids, leases);
    const valid = this.#validIds(ids);
    const output = kind === 'complete' ? this.#output(payload, 'output') : kind === 'fail' ? this.#output(payload, 'error') : null;
    if (valid.length === 0) {
      if (kind === 'complete' || kind === 'fail' || kind === 'touch') this.#scope.work.admission?.admitUnheld();
      if (!(await this.#scope.queueExists(qualified))) throw notFound(`no queue "${queue}"`);
      return { requested: ids.length, affected: 0 };
    }
    const boss = this.#scope.boss;
    try {
      if (kind === 'complete' || kind === 'fail' || kind === 'touch') return await this.#settle(kind, qualified, ids.length, valid, output, presented);
      const options = { db: this.#scope.work.db };
      const result = (await (kind === 'cancel'
        ? boss.cancel(qualified, valid, options)
        : kind === 'resume'
          ? boss.resume(qualified, valid, options)
          : kind === 'retry'
            ? boss.retry(qualified, valid, options)
            : boss.deleteJob(qualified, valid, options))) as SettleResponse;
      return { requested: ids.length, affected: result.affected ?? 0 };
    } catch (error) {
      if (isQueueNotFound(error)) throw notFound(`no queue "${queue}"`);
      throw asInputError(error);
    }
  }

  /**
   * complete, fail and touch: only active jobs, each fenced to its current
   * attempt (pg-boss's own fail would also fail waiting jobs). A job pushed by
   * workAssigned may only be settled by the connection holding it, or with
   * its current lease.
   */
  async #settle(
    kind: 'complete' | 'fail' | 'touch',
    qualified: string,
    requested: number,
    ids: string[],
    output: object | null,
    presented: PresentedLeases,
  ): Promise<CommandResult> {
    const boss = this.#scope.boss;
    const { leases, holder } = this.#scope.work;
    const held = this.#admitSettle(qualified, ids, presented);
    const heldHere = new Set(held?.map((attempt) => attempt.id));
    const settle = async (db: Db, split: LeaseSplit): Promise<{ affected: number; settled: readonly string[] }> => {
      const attempts = [...split.held, ...(await this.#activeAttempts(qualified, split.unleased, db))];
      if (attempts.length === 0) {
        if (split.conflicts.length === 0 && !(await this.#scope.queueExists(qualified, db)))
          throw notFound(`no queue "${this.#scope.names.unqualify(qualified)}"`);
        return { affected: 0, settled: [] };
      }
      const response = (
        kind === 'complete'
          ? await boss.complete(qualified, attempts, output, { db })
          : kind === 'fail'
            ? await boss.fail(qualified, attempts, output, { db })
            : await boss.touch(qualified, attempts, { db })
      ) as SettleResponse;
      return { affected: response.affected ?? 0, settled: kind === 'touch' ? [] : (response.settled ?? []) };
    };
    let affected: number;
    let conflicts: readonly string[];
    if (kind === 'touch') {
      ({
        result: { affected },
        conflicts,
      } = await leases.withLeases(qualified, holder, ids, async (db, split) => ({ result: await settle(db, split), finished: [] }), presented, heldHere));
    } else {
      // complete and fail end the holds. The usual case, a worker settling what it was pushed here,
      // takes one round trip; anything else is sorted out id by id in one transaction.
      const oneTrip =
        held && holder !== null
          ? await leases.releasingHeld(qualified, holder, held, (db) => settle(db, { held, unleased: [], conflicts: [], viaLease: [] }))
          : undefined;
      let released: readonly string[] = [];
      let settled: readonly string[];
      if (oneTrip) {
        ({ affected, settled } = oneTrip.result);
        released = ids;
        conflicts = [];
      } else {
        ({
          result: { affected, settled },
          conflicts,
        } = await leases.releasing(
          qualified,
          holder,
          ids,
          async (db, split) => {
            released = split.held.map((attempt) => attempt.id);
            return settle(db, split);
          },
          presented,
          heldHere,
        ));
      }
      // A complete or fail by the holder of what this instance says it holds ends those holds here,
      // whatever the database answered: a hold it no longer records (a claim lost in a crash, an end
      // whose event was missed) must not keep the worker's room.
      if (held) released = ids;
      const finished = released.length ? [...new Set([...released, ...settled])] : settled;
      if (finished.length) this.#scope.work.dispatch?.settled(qualified, finished, held);
    }
    if (kind !== 'touch' && affected) this.#scope.work.observer?.settled(this.#scope.tenantId, this.#scope.names.unqualify(qualified) ?? '', kind, affected);
    return { requested, affected, conflicts: conflicts.length };
  }

  async #activeAttempts(qualified: string, ids: readonly string[], db: Db): Promise<JobAttempt[]> {
    if (ids.length === 0) return [];
    return rowsOf<JobAttempt>(db, activeAttempts(this.#scope.schema, qualified, ids));
  }

  /** One job: NOT_FOUND when it does not exist, CONFLICT when its state does not allow the command. */
  async commandOne(kind: Exclude<JobCommand, 'delete'>, queue: string, id: string, payload?: unknown, lease?: string | null): Promise<JobRecord> {
    const { affected, conflicts } = await this.command(kind, queue, [id], payload, lease === null || lease === undefined ? undefined : [lease]);
    const job = await this.#scope.getJob(queue, id);
    if (!job) throw notFound(`no job ${id} in queue "${queue}"`);
    if (conflicts)
      throw conflict(
        lease ? `the lease is not job ${id}'s current one (another attempt, or already settled)` : `job ${id} is held by another worker connection`,
      );
    if (affected === 0) throw conflict(`job ${id} is ${job.state}; ${kind} does not apply`);
    return job;
  }

  async deleteOne(queue: string, id: string): Promise<boolean> {
    const { affected } = await this.command('delete', queue, [id]);
    if (affected === 0) throw notFound(`no job ${id} in queue "${queue}"`);
    return true;
  }

  /** The lease of a job pushed to the caller's connection, to settle it from anywhere; null for anyone else. */
  leaseFor(job: { id: string; queue: string }): string | null {
    const holder = this.#scope.work.holder;
    if (holder === null) return null;
    const qualified = this.#scope.names.qualify(job.queue);
    const [attempt] =
      (this.#scope.work.holder === null ? undefined : this.#scope.work.dispatch?.heldAttempts(this.#scope.work.holder, qualified, [job.id])) ?? [];
    return attempt ? this.#scope.work.leaseTokens.issue(qualified, job.id, attempt.retryCount, holder) : null;
  }

  /**
   * Records an active job's progress and tells `jobEvents` (PROGRESS), fenced
   * like completeJob: only its holder, or its current lease, for a pushed job.
   */
  async reportProgress(queue: string, id: string, progress: unknown, lease?: string | null): Promise<JobRecord> {
    const qualified = this.#scope.names.qualify(queue);
    const presented = this.#presentedLeases(qualified, [id], lease === null || lease === undefined ? undefined : [lease]);
    const json = JSON.stringify(progress ?? null);
    if (progress === undefined || progress === null || Buffer.byteLength(json) > this.#scope.limits.maxProgressBytes) {
      throw badInput(`"progress" must be a JSON value of at most ${this.#scope.limits.maxProgressBytes} bytes`, {
        argument: 'progress',
        limit: this.#scope.limits.maxProgressBytes,
      });
    }
    const ids = isUuid(id) ? [id] : [];
    const held = this.#admitSettle(qualified, ids, presented);
    let reported = false;
    let conflicts: readonly string[] = [];
    if (ids.length) {
      ({ result: reported, conflicts } = await this.#scope.work.leases.withLeases(
        qualified,
        this.#scope.work.holder,
        ids,
        async (db, split) => {
          const [attempt] = [...split.held, ...(await this.#activeAttempts(qualified, split.unleased, db))];
          if (!attempt) return { result: false, finished: [] };
          const { rows } = await runPlan(db, reportProgress(this.#scope.schema, qualified, id, attempt.retryCount, json));
          return { result: rows.length > 0, finished: [] };
        },
        presented,
        new Set(held?.map((attempt) => attempt.id)),
      ));
    }
    const job = await this.#scope.getJob(queue, id);
    if (!job) throw notFound(`no job ${id} in queue "${queue}"`);
    if (conflicts.length) {
      throw conflict(
        lease ? `the lease is not job ${id}'s current one (another attempt, or already settled)` : `job ${id} is held by another worker connection`,
      );
    }
    if (!reported) throw conflict(`job ${id} is ${job.state}; reportProgress needs an active job`);
    return job;
  }

  /** The latest progress reported for a job, or null. */
  async progressOf(queue: string, id: string): Promise<unknown> {
    return isUuid(id) ? readProgress(this.#scope.work.db, this.#scope.names.qualify(queue), id) : null;
  }
}
