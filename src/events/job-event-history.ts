import { badInput } from '../errors.ts';
import { pageSize, type Page } from '../tenant/job-cursor.ts';
import { isUuid } from '../tenant/job-input.ts';
import type { QueueNamespace } from '../tenant/names.ts';
import { EventLog } from './event-log.ts';
import { comparePositions, laterOf } from './event-position.ts';
import { tenantIdOf, viewOf, type JobEventView } from './job-event-view.ts';
import { cursorExpired, openCursor, type EventSources } from './tenant-events.ts';

export type JobEventHistoryPage = Page<JobEventView>;

/**
 * The logged events of one job of a tenant, oldest first, paged. A page's end
 * cursor, passed to `jobEvents(after:)`, goes on live from where the page
 * ended: with no gap and no repeat.
 */
export class JobEventHistory {
  readonly #sources: EventSources;
  readonly #names: QueueNamespace;
  readonly #log: EventLog;

  constructor(sources: EventSources, names: QueueNamespace) {
    this.#sources = sources;
    this.#names = names;
    this.#log = new EventLog(sources.pool);
  }

  async read(queue: string, jobId: string, options: { after?: string | undefined; first?: number | undefined } = {}): Promise<JobEventHistoryPage> {
    const qualified = this.#names.qualify(queue);
    if (!isUuid(jobId)) throw badInput('"jobId" must be a job id (UUID)', { argument: 'jobId' });
    const first = pageSize(options.first);
    const tenantId = tenantIdOf(this.#names);
    const after = options.after === undefined ? null : openCursor(this.#sources.cursors, tenantId, options.after);
    // Read up to a high-water mark taken first: a page that ends there ends at it, events or not.
    const bound = await this.#log.highWater();
    const page = await this.#log.read(after, { tenantId, queue: qualified, jobId }, first + 1, bound);
    if (after !== null && comparePositions(page.floor, after) > 0) throw cursorExpired();
    const events = page.events.slice(0, first);
    const hasNextPage = page.events.length > first;
    const end = hasNextPage ? events.at(-1)!.position : after === null ? bound : laterOf(bound, after);
    return {
      nodes: events.flatMap((event) => viewOf(event, event.position, this.#names, this.#sources.cursors) ?? []),
      endCursor: this.#sources.cursors.seal(tenantId, end),
      hasNextPage,
    };
  }
}
