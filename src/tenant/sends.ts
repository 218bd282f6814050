import type { SendOptions } from 'pg-boss';
import type { DispatchQueues } from '../dispatch/port.ts';
import { badInput } from '../errors.ts';
import { jobIdMaker } from './job-ids.ts';
import { assertJobPayload, toBossSendOptions, type JobSendOptions } from './job-input.ts';
import { SentJob } from './job-record.ts';
import type { TenantScope } from './scope.ts';

export interface JobInput {
  data: unknown;
  options?: JobSendOptions | undefined;
}

/**
 * Sending into a tenant's queues (created with defaults on first use). A
 * send into a queue whose workers on this instance have room claims in its
 * own transaction, through `claims`.
 */
export class TenantSends {
  readonly #scope: TenantScope;
  readonly #claims: Pick<DispatchQueues, 'claim'>;

  constructor(scope: TenantScope, claims: Pick<DispatchQueues, 'claim'>) {
    this.#scope = scope;
    this.#claims = claims;
  }

  async #prepareDeadLetter(options: SendOptions): Promise<void> {
    if (options.deadLetter) await this.#scope.ensureQueue(options.deadLetter);
  }

  /** The created job, or null when a singleton, throttle or debounce rule suppressed it. */
  async sendJob(queue: string, data: unknown, options?: JobSendOptions): Promise<SentJob | null> {
    const qualified = this.#scope.names.qualify(queue);
    const payload = assertJobPayload(data, this.#scope.limits.maxJobDataBytes);
    const sendOptions = toBossSendOptions(this.#scope.names, options);
    sendOptions.id ??= jobIdMaker()();
    await this.#prepareDeadLetter(sendOptions);
    // A second insert (the next slot) could not share the claim's transaction; a deferred job is not
    // the send's to claim, and the usual claim arms the timer for its start.
    let handoff = sendOptions.singletonNextSlot || sendOptions.startAfter !== undefined ? undefined : this.#scope.work.dispatch?.handoff(qualified);
    let handedOff = false;
    const id = await this.#scope.withQueue(qualified, async () => {
      const room = handoff;
      handoff = undefined;
      if (!room) return this.#scope.boss.send(qualified, payload, { ...sendOptions, db: this.#scope.work.db });
      const { sent, claimed } = await this.#scope.work.leases
        .sendAndClaim(
          qualified,
          room.holders,
          (db) => this.#scope.boss.send(qualified, payload, { ...sendOptions, db }),
          (db) => this.#claims.claim(qualified, room.holders.length, db),
        )
        .catch((error: unknown) => {
          room.done(undefined);
          throw error;
        });
      room.done(claimed, sent ? [sent] : []);
      handedOff = claimed !== undefined;
      return sent;
    });
    if (!id) return null;
    if (!handedOff) this.#scope.work.dispatch?.sent(qualified, [id]);
    this.#scope.work.observer?.sent(this.#scope.tenantId, queue, 1);
    return new SentJob(id, queue, () => this.#scope.getJob(queue, id));
  }

  /**
   * Inserts a batch in one pg-boss call. Ids are assigned here so they come
   * back in input order; jobs a singleton rule suppressed are left out.
   */
  async sendJobs(queue: string, jobs: readonly JobInput[]): Promise<string[]> {
    const qualified = this.#scope.names.qualify(queue);
    if (jobs.length > this.#scope.limits.maxBatchSize) {
      throw badInput(`a batch holds at most ${this.#scope.limits.maxBatchSize} jobs; got ${jobs.length}`, {
        argument: 'jobs',
        limit: this.#scope.limits.maxBatchSize,
      });
    }
    if (jobs.length === 0) return [];
    const newId = jobIdMaker();
    const inserts = jobs.map((job, index) => {
      const data = assertJobPayload(job.data, this.#scope.limits.maxJobDataBytes, `jobs[${index}].data`);
      if (job.options?.debounceSeconds !== undefined || job.options?.singletonNextSlot) {
        // pg-boss's batch insert has no "next slot": debouncing needs sendJob.
        throw badInput(`jobs[${index}]: debounceSeconds and singletonNextSlot need sendJob, not sendJobs`, { argument: 'jobs' });
      }
      if (job.options === undefined || job.options === null) return { data, id: newId() };
      const { startAfter, group, ...options } = toBossSendOptions(this.#scope.names, job.options);
      return { ...options, ...(startAfter === undefined ? {} : { startAfter }), ...(group ? { group } : {}), data, id: options.id ?? newId() };
    });
    for (const deadLetter of new Set(inserts.flatMap((job) => job.deadLetter ?? []))) await this.#scope.ensureQueue(deadLetter);
    const inserted = new Set(
      await this.#scope.withQueue(
        qualified,
        async () => (await this.#scope.boss.insert(qualified, inserts, { returnId: true, db: this.#scope.work.db })) ?? [],
      ),
    );
    if (inserted.size) this.#scope.work.dispatch?.sent(qualified, [...inserted]);
    this.#scope.work.observer?.sent(this.#scope.tenantId, queue, inserted.size);
    return inserts.map((job) => job.id).filter((id) => inserted.has(id));
  }
}
