import { jobInQueuesOf, jobPage } from '../sql/jobs.ts';
import { asCursorError, decodeCursor, encodeCursor, pageSize, type Page } from './job-cursor.ts';
import { isUuid } from './job-input.ts';
import { toJobRecord, type JobRecord, type JobRow, type JobState } from './job-record.ts';
import type { QueueNamespace } from './names.ts';
import type { TenantScope } from './scope.ts';

export type JobPage = Page<JobRecord>;

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './job-cursor.ts';

/** Reading a tenant's jobs: one by id, or a page of a queue's. */
export class TenantJobs {
  readonly names: QueueNamespace;
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
    this.names = scope.names;
  }

  getJob(queue: string, id: string): Promise<JobRecord | null> {
    return this.#scope.getJob(queue, id);
  }

  /** A job by id in one queue, or in any of the tenant's queues. */
  async findJob(id: string, queue?: string): Promise<JobRecord | null> {
    if (queue !== undefined) return this.getJob(queue, id);
    if (!isUuid(id)) return null;
    const rows = await this.#scope.rows<JobRow>(jobInQueuesOf(this.#scope.schema, id, this.#scope.names.prefix));
    return rows.flatMap((row) => toJobRecord(this.#scope.names, row) ?? [])[0] ?? null;
  }

  /** A page of jobs, newest first. */
  async listJobs(
    queue: string,
    options: { states?: readonly JobState[] | undefined; first?: number | undefined; after?: string | undefined },
  ): Promise<JobPage> {
    const qualified = this.#scope.names.qualify(queue);
    const first = pageSize(options.first);
    const [afterCreated, afterId] = options.after !== undefined ? decodeCursor(options.after) : [null, null];
    const rows = await this.#scope
      .rows<JobRow & { cursor: string }>(
        jobPage(this.#scope.schema, { qualified, states: options.states?.length ? options.states : null, afterCreated, afterId, limit: first + 1 }),
      )
      .catch((error: unknown) => {
        throw afterCreated === null ? error : asCursorError(error);
      });
    const page = rows.slice(0, first);
    const last = page.at(-1);
    return {
      nodes: page.flatMap((row) => toJobRecord(this.#scope.names, row) ?? []),
      endCursor: last ? encodeCursor(last) : null,
      hasNextPage: rows.length > first,
    };
  }
}
