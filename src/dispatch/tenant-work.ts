import type { GroupConcurrencyConfig } from 'pg-boss';
import { badInput, clientError } from '../errors.ts';
import type { JobRecord } from '../tenant/job-record.ts';
import type { Tenant } from '../tenant/tenant.ts';
import type { Dispatcher } from './dispatcher.ts';
import { toGroupLimits, type GroupConcurrencyInput } from './group-limits.ts';
import type { WorkRequest } from './work-subscription.ts';
import type { WorkerRegistry, WorkerSessionRow } from './worker-registry.ts';

export type WorkerSessionView = WorkerSessionRow;

export const MAX_WORKER_CONCURRENCY = 1_000;
export const MAX_WORKER_QUEUES = 50;

/** `workAssigned` for one tenant: validates the request, then joins the dispatcher. */
export class TenantWork {
  readonly #dispatcher: Dispatcher;
  readonly #tenant: Tenant;
  readonly #holder: string | null;
  readonly #registry: WorkerRegistry;

  constructor(dispatcher: Dispatcher, registry: WorkerRegistry, tenant: Tenant, holder: string | null) {
    this.#dispatcher = dispatcher;
    this.#registry = registry;
    this.#tenant = tenant;
    this.#holder = holder;
  }

  async subscribe(queueNames: readonly string[], concurrency: number, groupConcurrency?: GroupConcurrencyInput | null): Promise<AsyncIterable<JobRecord>> {
    return this.#dispatcher.subscribe(await this.#request(queueNames, concurrency, groupConcurrency));
  }

  /** workAssignedBatches: the jobs of one claim in one message. */
  async subscribeBatches(
    queueNames: readonly string[],
    concurrency: number,
    groupConcurrency?: GroupConcurrencyInput | null,
  ): Promise<AsyncIterable<JobRecord[]>> {
    return this.#dispatcher.subscribeBatches(await this.#request(queueNames, concurrency, groupConcurrency));
  }

  async #request(queueNames: readonly string[], concurrency: number, groupConcurrency: GroupConcurrencyInput | null | undefined): Promise<WorkRequest> {
    const groupLimits: GroupConcurrencyConfig | undefined = groupConcurrency ? toGroupLimits(groupConcurrency, MAX_WORKER_CONCURRENCY) : undefined;
    const { holder, qualified } = await this.#validate(queueNames, concurrency);
    return { queues: this.#tenant.dispatch, holder, names: qualified, concurrency, groupLimits };
  }

  async #validate(queueNames: readonly string[], concurrency: number): Promise<{ holder: string; qualified: string[] }> {
    const holder = this.#holder;
    if (holder === null) {
      throw clientError('BAD_USER_INPUT', 'workAssigned needs a graphql-ws connection: jobs are held by the connection that receives them');
    }
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_WORKER_CONCURRENCY) {
      throw badInput(`"concurrency" must be 1-${MAX_WORKER_CONCURRENCY}`, { argument: 'concurrency' });
    }
    const unique = [...new Set(queueNames)];
    if (unique.length === 0 || unique.length > MAX_WORKER_QUEUES) {
      throw badInput(`"queues" must name 1-${MAX_WORKER_QUEUES} queues`, { argument: 'queues' });
    }
    // Workers usually start before their producers: a queue is created with defaults on first use, as sendJob does.
    const qualified = await this.#tenant.queues.ensureQueues(unique, 'queues');
    return { holder, qualified };
  }

  /** The tenant's connected workers on every gateway instance, optionally only those of one queue. */
  async list(queue?: string): Promise<WorkerSessionView[]> {
    const only = queue === undefined ? null : this.#tenant.names.qualify(queue);
    const rows = await this.#registry.list(this.#tenant.id);
    return rows
      .filter((row) => only === null || row.queues.includes(only))
      .map((row) => ({ ...row, queues: row.queues.flatMap((name) => this.#tenant.names.unqualify(name) ?? []) }));
  }

  /**
   * Stops pushing to this connection; what it holds stays held until settled.
   * Resolves once the jobs of claims still in flight are pushed.
   */
  async pause(): Promise<boolean> {
    if (this.#holder === null) throw clientError('BAD_USER_INPUT', 'pauseWork applies to the graphql-ws connection it is sent on');
    return (await this.#dispatcher.pause(this.#holder)) > 0;
  }
}
