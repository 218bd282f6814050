import type { Db, GroupConcurrencyConfig } from 'pg-boss';
import type { DispatchQueues } from '../dispatch/port.ts';
import type { SettleResponse } from '../pgboss/settle-response.ts';
import { nextStartAfter } from '../sql/jobs.ts';
import type { JobRecord } from './job-record.ts';
import type { TenantScope } from './scope.ts';

/** What the dispatcher of workAssigned does in a tenant's queues, by qualified names (see `DispatchQueues`). */
export class TenantDispatchQueues implements DispatchQueues {
  readonly tenantId: string;
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
    this.tenantId = scope.tenantId;
  }

  #owned(qualified: string): string {
    if (!this.#scope.names.owns(qualified)) throw new Error(`queue ${qualified} is outside tenant ${this.#scope.tenantId}`);
    return qualified;
  }

  /**
   * Takes up to `limit` ready jobs (they become active), in pg-boss's order.
   * Runs per dispatch batch: each record is built field by field (one object
   * of one shape) rather than by spreading pg-boss's wider rows twice.
   */
  async claim(qualified: string, limit: number, db?: Db, groups?: { limits: GroupConcurrencyConfig; ignore: readonly string[] }): Promise<JobRecord[]> {
    const queue = this.#scope.names.unqualify(this.#owned(qualified))!;
    const groupOptions = groups ? { groupConcurrency: groups.limits, ...(groups.ignore.length ? { ignoreGroups: [...groups.ignore] } : {}) } : {};
    const jobs = await this.#scope.boss.fetch(qualified, { batchSize: limit, includeMetadata: true, ...(db ? { db } : {}), ...groupOptions });
    const records: JobRecord[] = [];
    for (const job of jobs) {
      if (job.name !== qualified) continue;
      records.push({
        id: job.id,
        queue,
        state: job.state,
        data: job.data ?? null,
        output: job.output ?? null,
        priority: job.priority,
        retryCount: job.retryCount,
        retryLimit: job.retryLimit,
        retryDelay: job.retryDelay,
        retryBackoff: job.retryBackoff,
        retryDelayMax: job.retryDelayMax ?? null,
        expireInSeconds: job.expireInSeconds,
        deleteAfterSeconds: job.deleteAfterSeconds,
        singletonKey: job.singletonKey ?? null,
        singletonOn: job.singletonOn ?? null,
        groupId: job.groupId ?? null,
        groupTier: job.groupTier ?? null,
        deadLetter: this.#scope.names.unqualify(job.deadLetter ?? null),
        policy: job.policy ?? null,
        startAfter: job.startAfter,
        createdOn: job.createdOn,
        startedOn: job.startedOn,
        completedOn: job.completedOn,
        keepUntil: job.keepUntil,
        heartbeatOn: job.heartbeatOn ?? null,
        heartbeatSeconds: job.heartbeatSeconds ?? null,
        blocked: job.blocked,
        pendingDependencies: job.pendingDependencies,
      });
    }
    return records;
  }

  /** When the next deferred job of a queue becomes ready, if any. */
  async nextStartAfter(qualified: string): Promise<Date | null> {
    const [row] = await this.#scope.rows<{ next: Date | null }>(nextStartAfter(this.#scope.schema, this.#owned(qualified)));
    return row?.next ?? null;
  }

  /** Fails this holder's unsettled jobs back to the queue (a failed attempt). */
  async failBack(qualified: string, ids: readonly string[], error: object): Promise<number> {
    const holder = this.#scope.work.holder;
    if (holder === null) return 0;
    const { result } = await this.#scope.work.leases.releasingForFailBack(this.#owned(qualified), holder, ids, async (db, split) => {
      if (split.held.length === 0) return 0;
      const response = (await this.#scope.boss.fail(qualified, split.held, error, { db })) as SettleResponse;
      return response.affected ?? 0;
    });
    return result;
  }

  /** Puts this holder's unsettled jobs back without using a retry: the gateway is stopping, not the worker. */
  async putBack(qualified: string, ids: readonly string[]): Promise<number> {
    const holder = this.#scope.work.holder;
    if (holder === null) return 0;
    return this.#scope.work.leases.putBackHeld(this.#owned(qualified), holder, ids, async (db, queue, attempts) => {
      await this.#scope.boss.fail(queue, attempts, { message: 'the gateway stopped before the job was settled' }, { db });
    });
  }
}
