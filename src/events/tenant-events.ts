import { FixedBuffer, Repeater } from '@repeaterjs/repeater';
import type pg from 'pg';
import { badInput, clientError } from '../errors.ts';
import { isUuid } from '../tenant/job-input.ts';
import type { JobRecord } from '../tenant/job-record.ts';
import { assertQueueName, type QueueNamespace } from '../tenant/names.ts';
import type { EventCursors } from './event-cursors.ts';
import type { EventFeed } from './event-feed.ts';
import { EventLog, type LoggedJobEvent } from './event-log.ts';
import { comparePositions, type EventPosition } from './event-position.ts';
import { tenantIdOf, viewOf, type JobEventView } from './job-event-view.ts';
import { eventTypeForState, FINAL_STATES, type JobEventType, type RawJobEvent } from './job-event.ts';

export interface JobEventFilter {
  queue?: string | undefined;
  jobId?: string | undefined;
  types?: readonly JobEventType[] | undefined;
  /** A cursor: replay the logged events after it first. */
  after?: string | undefined;
}

/** What the event stream needs from the tenant's queue layer. */
export interface JobLookup {
  readonly names: QueueNamespace;
  findJob(id: string, queue?: string): Promise<JobRecord | null>;
}

/** What every tenant's event streams share. */
export interface EventSources {
  feed: EventFeed;
  cursors: EventCursors;
  pool: Pick<pg.Pool, 'query'>;
}

const REPLAY_PAGE = 500;
/** Replayed events handed on between two turns of the event loop: live events of everyone else get through in between. */
const REPLAY_SLICE = 50;
/** Live events held while a replay catches up; past this they are dropped and read from the log instead. */
const MAX_HELD = 1_000;

export function cursorExpired(): Error {
  return clientError(
    'CURSOR_EXPIRED',
    'the events after this cursor are no longer kept (JOBGATE_EVENT_RETENTION_HOURS): read the current state, then subscribe without "after"',
    { argument: 'after' },
  );
}

/** The position a cursor of this tenant stands for (`after`); BAD_USER_INPUT for any other text, another tenant's cursor included. */
export function openCursor(cursors: EventCursors, tenantId: string, cursor: string): EventPosition {
  const position = cursors.open(tenantId, cursor);
  if (!position) throw badInput('"after" is not a cursor of this stream (take it from JobEvent.cursor)', { argument: 'after' });
  return position;
}

/**
 * Job events of one tenant, filtered, checked against the tenant's prefix at
 * delivery. Live events come from the gateway's EventFeed in log order; with
 * a cursor, the log's events after it are replayed first, page by page, at the
 * subscriber's pace, while live ones are held, and the stream switches over at
 * the feed's position: no event twice, none missed.
 */
export class TenantEvents {
  readonly #sources: EventSources;
  readonly #log: EventLog;
  readonly #jobs: JobLookup;
  readonly #bufferSize: number;
  readonly #onOverflow: () => void;

  /**
   * `bufferSize` events wait for a subscriber that is not reading (its socket
   * writes are not completing); past that `onOverflow` cuts the connection.
   */
  constructor(sources: EventSources, jobs: JobLookup, bufferSize: number, onOverflow: () => void) {
    this.#sources = sources;
    this.#log = new EventLog(sources.pool);
    this.#jobs = jobs;
    this.#bufferSize = bufferSize;
    this.#onOverflow = onOverflow;
  }

  /** The same events with another reaction to a full buffer (a stream that serves several subscribers). */
  withOverflow(onOverflow: () => void): TenantEvents {
    return new TenantEvents(this.#sources, this.#jobs, this.#bufferSize, onOverflow);
  }

  get #tenantId(): string {
    return tenantIdOf(this.#jobs.names);
  }

  #view(event: RawJobEvent, position: EventPosition): JobEventView | null {
    return viewOf(event, position, this.#jobs.names, this.#sources.cursors);
  }

  subscribe(filter: JobEventFilter): AsyncIterable<JobEventView> {
    if (filter.queue !== undefined) assertQueueName(filter.queue);
    if (filter.jobId !== undefined && !isUuid(filter.jobId)) throw badInput('"jobId" must be a job id (UUID)', { argument: 'jobId' });
    const after = filter.after === undefined ? null : openCursor(this.#sources.cursors, this.#tenantId, filter.after);
    const { jobId, queue } = filter;
    const types = filter.types?.length ? new Set(filter.types) : null;
    const concerns = (event: RawJobEvent) =>
      (queue === undefined || event.name === this.#jobs.names.prefix + queue) && (jobId === undefined || event.jobId === jobId);
    const matches = (event: JobEventView) => types === null || types.has(event.type);

    const buffer = new FixedBuffer(this.#bufferSize);
    return new Repeater<JobEventView>(async (push, stop) => {
      let ended = false;
      void stop.then(() => (ended = true));
      let overflowed = false;
      const deliver = (event: JobEventView) => {
        if (overflowed) return;
        if (!buffer.full) {
          // Rejects only once the stream has ended; nothing is left to tell.
          push(event).catch(() => {});
          return;
        }
        // The subscriber is not reading, so an error would never reach it: end
        // the stream and drop its connection.
        overflowed = true;
        stop();
        this.#onOverflow();
      };
      /** The position of the last event let through: the stream never goes back. */
      let last: EventPosition | null = null;
      const accept = (event: LoggedJobEvent) => {
        if (last && comparePositions(event.position, last) <= 0) return;
        last = event.position;
        const view = this.#view(event, event.position);
        if (view && matches(view)) deliver(view);
      };
      // Live events wait here while the log is replayed or the job looked up.
      let held: LoggedJobEvent[] | null = after !== null || jobId !== undefined ? [] : null;
      /** How far the replay must read: the feed's position, or the last live event dropped from `held`. */
      let replayTo: EventPosition | null = null;
      let unsubscribe = () => {};
      try {
        const subscription = await this.#sources.feed.subscribeTenant(this.#tenantId, (event) => {
          if (!concerns(event)) return;
          if (held === null) return accept(event);
          if (held.length < MAX_HELD) return void held.push(event);
          held = [];
          replayTo = event.position;
        });
        unsubscribe = subscription.unsubscribe;
        replayTo ??= subscription.position;
        let from = after;
        if (after === null && jobId !== undefined) {
          const job = await this.#jobs.findJob(jobId, queue);
          // Every event committed before the lookup is now in `held` or before the subscription.
          await this.#sources.feed.caughtUp();
          last = subscription.position;
          const missed = replayTo !== subscription.position;
          if (missed) from = subscription.position;
          else if (held!.length === 0 && job && FINAL_STATES.has(job.state)) {
            const view = this.#eventOf(job, subscription.position);
            if (matches(view)) deliver(view);
          }
        }
        if (from !== null) {
          last = await this.#replay(
            from,
            () => replayTo!,
            { queue, jobId },
            async (event) => {
              const view = this.#view(event, event.position);
              if (view && matches(view) && !ended) await push(view);
              return !ended;
            },
          );
        }
        const waiting = held ?? [];
        held = null;
        for (const event of waiting) accept(event);
      } catch (error) {
        held = null;
        stop(error);
      }
      await stop;
      unsubscribe();
    }, buffer);
  }

  /**
   * Replays the log after `from` up to `until()` (read again after each page:
   * live events dropped meanwhile move it on), handing each event to `take`
   * until it returns false. Returns the position it read up to.
   */
  async #replay(
    from: EventPosition,
    until: () => EventPosition,
    filter: { queue?: string | undefined; jobId?: string | undefined },
    take: (event: LoggedJobEvent) => Promise<boolean>,
  ): Promise<EventPosition> {
    const logFilter = {
      tenantId: this.#tenantId,
      queue: filter.queue === undefined ? undefined : this.#jobs.names.prefix + filter.queue,
      jobId: filter.jobId,
    };
    let position = from;
    for (;;) {
      const bound = until();
      const page = await this.#log.read(position, logFilter, REPLAY_PAGE, bound);
      if (comparePositions(page.floor, position) > 0) throw cursorExpired();
      for (const [n, event] of page.events.entries()) {
        position = event.position;
        if (!(await take(event))) return position;
        if (n % REPLAY_SLICE === REPLAY_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
      }
      if (page.events.length === REPLAY_PAGE) continue;
      if (comparePositions(bound, position) > 0) position = bound;
      if (comparePositions(until(), bound) === 0) return position;
    }
  }

  /** The event of a job's current state, made from a read of it rather than from the log; `position` is where the stream stood. */
  #eventOf(job: JobRecord, position: EventPosition): JobEventView {
    const at = FINAL_STATES.has(job.state) ? (job.completedOn ?? new Date()) : new Date();
    const cursor = this.#sources.cursors.seal(this.#tenantId, position);
    return { type: eventTypeForState(job.state), queue: job.queue, jobId: job.id, state: job.state, retryCount: job.retryCount, at, progress: null, cursor };
  }
}
