import type { RedriveFilter } from 'pg-boss';
import { badInput, notFound } from '../errors.ts';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import { redriveSources } from '../sql/jobs.ts';
import { rowsOf } from '../sql/plan.ts';
import { assertJobPayload, isUuid } from './job-input.ts';
import type { TenantScope } from './scope.ts';

/** Which dead-lettered jobs a redrive is about, in the tenant's names. */
export interface RedriveInput {
  /** Where they go; by default each goes back to the queue it was dead-lettered from. */
  destination?: string | undefined;
  /** Only jobs dead-lettered from this queue (pg-boss's sourceName). */
  sourceQueue?: string | undefined;
  /** Only jobs whose data contains this object. */
  data?: unknown;
  createdBefore?: Date | undefined;
  /** Only these jobs of the dead letter queue. */
  ids?: readonly string[] | undefined;
  limit?: number | undefined;
}

export interface RedrivePreviewView {
  total: number;
  destinations: { queue: string; count: number }[];
  unroutable: number;
}

export const DEFAULT_REDRIVE_LIMIT = 1000;
export const MAX_REDRIVE_LIMIT = 10_000;

/**
 * pg-boss's redrive for one tenant: jobs waiting in a dead letter queue go
 * back, as new jobs, to the queues they were dead-lettered from (or to one
 * destination). Source queues outside the tenant's namespace (only a writer
 * past the gateway could record one) are never a destination: a preview
 * counts them as unroutable and a redrive leaves them in place.
 */
export class TenantRedrive {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  /** The dead letter queue, qualified, and pg-boss's filter; null when no id names a job. */
  async #filter(queue: string, input: RedriveInput): Promise<{ qualified: string; filter: RedriveFilter & { limit: number } } | null> {
    const { names, limits } = this.#scope;
    const qualified = names.qualify(queue);
    const filter: RedriveFilter & { limit: number } = { db: this.#scope.db, limit: input.limit ?? DEFAULT_REDRIVE_LIMIT };
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_REDRIVE_LIMIT) {
      throw badInput(`"limit" must be 1-${MAX_REDRIVE_LIMIT}`, { argument: 'limit' });
    }
    if (input.destination !== undefined) filter.destination = names.qualify(input.destination, 'destination');
    if (input.sourceQueue !== undefined) filter.sourceName = names.qualify(input.sourceQueue, 'sourceQueue');
    if (input.data !== undefined) {
      const data = assertJobPayload(input.data, limits.maxJobDataBytes);
      if (Array.isArray(data)) throw badInput('"data" must be a JSON object', { argument: 'data' });
      filter.data = data;
    }
    if (input.createdBefore !== undefined) filter.createdBefore = input.createdBefore;
    if (input.ids !== undefined && (input.ids.length === 0 || input.ids.length > limits.maxBatchSize)) {
      throw badInput(`"ids" must hold 1-${limits.maxBatchSize} ids`, { argument: 'ids', limit: limits.maxBatchSize });
    }
    if (!(await this.#scope.queueExists(qualified))) throw notFound(`no queue "${queue}"`);
    if (input.ids !== undefined) {
      // Malformed ids cannot name a job: they are simply not found.
      const ids = [...new Set(input.ids.filter(isUuid))];
      if (ids.length === 0) return null;
      filter.ids = ids;
    }
    return { qualified, filter };
  }

  async #call<T>(queue: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (isQueueNotFound(error)) throw notFound(`no queue "${queue}"`);
      throw asInputError(error);
    }
  }

  /** What redrive would move with the same input, by destination, and what it would leave. */
  async preview(queue: string, input: RedriveInput = {}): Promise<RedrivePreviewView> {
    const target = await this.#filter(queue, input);
    if (!target) return { total: 0, destinations: [], unroutable: 0 };
    const { names, boss } = this.#scope;
    const preview = await this.#call(queue, () => boss.previewRedrive(target.qualified, target.filter));
    const destinations: RedrivePreviewView['destinations'] = [];
    let unroutable = preview.unroutable;
    for (const { name, count } of preview.destinations) {
      const own = names.unqualify(name);
      if (own === null) unroutable += count;
      else destinations.push({ queue: own, count });
    }
    return { total: preview.total, destinations, unroutable };
  }

  /**
   * Moves up to `limit` jobs, oldest first; how many moved. Without a
   * destination or source queue, one source queue of the tenant after the
   * other, so that no job goes to a queue outside it.
   */
  async redrive(queue: string, input: RedriveInput = {}): Promise<number> {
    const target = await this.#filter(queue, input);
    if (!target) return 0;
    const { boss, names, db, schema } = this.#scope;
    const { qualified, filter } = target;
    if (filter.destination !== undefined || filter.sourceName !== undefined) return this.#call(queue, () => boss.redrive(qualified, filter));
    const sources = await rowsOf<{ name: string }>(db, redriveSources(schema, qualified, names.prefix));
    let moved = 0;
    for (const { name } of sources) {
      if (!names.owns(name) || moved >= filter.limit) continue;
      moved += await this.#call(queue, () => boss.redrive(qualified, { ...filter, sourceName: name, limit: filter.limit - moved }));
    }
    return moved;
  }
}
