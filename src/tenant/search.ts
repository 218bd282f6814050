import { notFound } from '../errors.ts';
import { rowsOf } from '../sql/plan.ts';
import { queuePolicy } from '../sql/queues.ts';
import { findJobs } from '../sql/search.ts';
import { asCursorError, decodeCursor, encodeCursor, pageSize, type Page } from './job-cursor.ts';
import { assertJobPayload, shortText } from './job-input.ts';
import { toJobRecord, type JobRecord, type JobRow, type JobState } from './job-record.ts';
import type { TenantScope } from './scope.ts';

export interface JobSearch {
  singletonKey?: string | undefined;
  /** Jobs whose data contains this JSON value (PostgreSQL's `@>`, as pg-boss's findJobs). */
  data?: unknown;
  states?: readonly JobState[] | undefined;
  first?: number | undefined;
  after?: string | undefined;
}

export const DEFAULT_BLOCKED_KEYS = 100;
export const MAX_BLOCKED_KEYS = 1_000;

/**
 * pg-boss's findJobs and getBlockedKeys for one tenant. findJobs takes
 * pg-boss's filters (singleton key, data containment) and a state filter,
 * and pages newest first with the cursors of `jobs`.
 */
export class TenantSearch {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  /** A page of the queue's jobs that match; an empty page for a queue that does not exist. */
  async findJobs(queue: string, search: JobSearch): Promise<Page<JobRecord>> {
    const { names, db, limits, schema } = this.#scope;
    const qualified = names.qualify(queue);
    const first = pageSize(search.first);
    shortText(search.singletonKey, 'singletonKey');
    const data = search.data === undefined || search.data === null ? null : JSON.stringify(assertJobPayload(search.data, limits.maxJobDataBytes));
    const [afterCreated, afterId] = search.after !== undefined ? decodeCursor(search.after) : [null, null];
    const plan = findJobs(schema, {
      qualified,
      singletonKey: search.singletonKey ?? null,
      data,
      states: search.states?.length ? search.states : null,
      afterCreated,
      afterId,
      limit: first + 1,
    });
    const found = await rowsOf<JobRow & { cursor: string }>(db, plan).catch((error: unknown) => {
      throw afterCreated === null ? error : asCursorError(error);
    });
    const page = found.slice(0, first);
    const last = page.at(-1);
    return { nodes: page.flatMap((row) => toJobRecord(names, row) ?? []), endCursor: last ? encodeCursor(last) : null, hasNextPage: found.length > first };
  }

  /**
   * The singleton keys of a KEY_STRICT_FIFO queue held back by a failed job
   * (pg-boss's getBlockedKeys), by key, after `after`; none for other
   * policies, which block no key for good. NOT_FOUND for no such queue.
   */
  async blockedKeys(queue: string, first?: number, after?: string): Promise<string[]> {
    const { names, db, schema, boss } = this.#scope;
    const qualified = names.qualify(queue);
    const limit = pageSize(first, MAX_BLOCKED_KEYS, DEFAULT_BLOCKED_KEYS);
    shortText(after, 'after');
    const [found] = await rowsOf<{ policy: string }>(db, queuePolicy(schema, qualified));
    if (!found) throw notFound(`no queue "${queue}"`);
    if (found.policy !== 'key_strict_fifo') return [];
    return boss.getBlockedKeys(qualified, { limit, ...(after === undefined ? {} : { after }) });
  }
}
