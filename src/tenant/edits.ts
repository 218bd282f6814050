import type { UpdateOptions } from 'pg-boss';
import { conflict, notFound } from '../errors.ts';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import { assertJobPayload, isUuid, toBossSendOptions, type JobSendOptions } from './job-input.ts';
import type { JobRecord } from './job-record.ts';
import type { TenantScope } from './scope.ts';

/** What updateJob and upsertJob may change; omitted fields keep the job's values. */
export type JobEditOptions = Pick<
  JobSendOptions,
  | 'priority'
  | 'startAfter'
  | 'delaySeconds'
  | 'retryLimit'
  | 'retryDelay'
  | 'retryBackoff'
  | 'retryDelayMax'
  | 'expireInSeconds'
  | 'heartbeatSeconds'
  | 'deadLetter'
  | 'retentionSeconds'
  | 'deleteAfterSeconds'
  | 'groupId'
  | 'groupTier'
>;

export interface UpsertedJob {
  job: JobRecord;
  /** A new job; false when a waiting job with the key was edited. */
  inserted: boolean;
}

/**
 * pg-boss's update and upsert for one tenant: edits of jobs that have not
 * started (created or retry), by id or by singleton key. jobEvents reports
 * an edit as UPDATED, an upsert that inserted as CREATED.
 */
export class TenantEdits {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  /** Validated and qualified like send options, then only what pg-boss's update takes. */
  #options(options: JobEditOptions & { singletonKey?: string | undefined }): UpdateOptions {
    const send = toBossSendOptions(this.#scope.names, options);
    const edit: UpdateOptions = {};
    for (const key of [
      'priority',
      'startAfter',
      'retryLimit',
      'retryDelay',
      'retryBackoff',
      'retryDelayMax',
      'expireInSeconds',
      'heartbeatSeconds',
      'deadLetter',
      'retentionSeconds',
      'deleteAfterSeconds',
      'group',
      'singletonKey',
    ] as const) {
      if (send[key] !== undefined) Object.assign(edit, { [key]: send[key] });
    }
    return edit;
  }

  #payload(data: unknown): object | undefined {
    return data === undefined || data === null ? undefined : assertJobPayload(data, this.#scope.limits.maxJobDataBytes);
  }

  /** Edits a job that has not started: NOT_FOUND for no such job, CONFLICT once it is active or finished. */
  async update(queue: string, id: string, data: unknown, options: JobEditOptions = {}): Promise<JobRecord> {
    const { names, boss, db } = this.#scope;
    const qualified = names.qualify(queue);
    const payload = this.#payload(data);
    const edit = this.#options(options);
    const current = isUuid(id) ? await this.#scope.getJob(queue, id) : null;
    if (!current) {
      if (!(await this.#scope.queueExists(qualified))) throw notFound(`no queue "${queue}"`);
      throw notFound(`no job ${id} in queue "${queue}"`);
    }
    if (current.state !== 'created' && current.state !== 'retry') throw conflict(`job ${id} is ${current.state}; updateJob needs a job that has not started`);
    // Only now, for a job that will be edited: a refused edit creates no dead letter queue.
    if (edit.deadLetter) await this.#scope.ensureQueue(edit.deadLetter);
    const { updated } = await boss.update(qualified, payload, { ...edit, id, db }).catch((error: unknown) => {
      if (isQueueNotFound(error)) throw notFound(`no queue "${queue}"`);
      throw asInputError(error);
    });
    const job = await this.#scope.getJob(queue, id);
    if (!job) throw notFound(`no job ${id} in queue "${queue}"`);
    if (updated === 0) throw conflict(`job ${id} is ${job.state}; updateJob needs a job that has not started`);
    return job;
  }

  /**
   * Edits the newest waiting job with singleton key `key`, or sends one with
   * it (the queue, with defaults, on first use).
   */
  async upsert(queue: string, key: string, data: unknown, options: JobEditOptions = {}): Promise<UpsertedJob> {
    const { names, boss } = this.#scope;
    const qualified = names.qualify(queue);
    const payload = this.#payload(data);
    const edit = this.#options({ ...options, singletonKey: key });
    if (edit.deadLetter) await this.#scope.ensureQueue(edit.deadLetter);
    // Without a db of ours: pg-boss runs its update-or-insert in a transaction of its own.
    const result = await this.#scope.withQueue(qualified, () => boss.upsert(qualified, payload, edit));
    const [id] = result.jobs;
    if (result.inserted && id) this.#scope.sent(qualified, [id]);
    const job = id ? await this.#scope.getJob(queue, id) : null;
    if (!job) throw notFound(`the job with key "${key}" was deleted before it could be read`);
    return { job, inserted: result.inserted > 0 };
  }
}
