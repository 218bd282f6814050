import { FixedBuffer, Repeater } from '@repeaterjs/repeater';
import { badInput } from '../errors.ts';
import { isUuid } from '../tenant/job-input.ts';
import type { JobRecord } from '../tenant/job-record.ts';
import { assertQueueName, type QueueNamespace } from '../tenant/names.ts';
import type { JobEventBus } from './job-event-bus.ts';
import { eventTypeForState, FINAL_STATES, type JobEventType, type RawJobEvent } from './job-event.ts';

/** A job event as its tenant sees it. */
export interface JobEventView {
  type: JobEventType;
  queue: string;
  jobId: string;
  state: RawJobEvent['state'];
  retryCount: number;
  at: Date;
  progress: unknown;
}

export interface JobEventFilter {
  queue?: string | undefined;
  jobId?: string | undefined;
  types?: readonly JobEventType[] | undefined;
}

/** What the event stream needs from the tenant's queue layer. */
export interface JobLookup {
  readonly names: QueueNamespace;
  findJob(id: string, queue?: string): Promise<JobRecord | null>;
}

/** Job events of one tenant, filtered, checked against the tenant's prefix at delivery. */
export class TenantEvents {
  readonly #bus: JobEventBus;
  readonly #jobs: JobLookup;
  readonly #bufferSize: number;
  readonly #onOverflow: () => void;

  /**
   * `bufferSize` events wait for a subscriber that is not reading (its socket
   * writes are not completing); past that `onOverflow` cuts the connection.
   */
  constructor(bus: JobEventBus, jobs: JobLookup, bufferSize: number, onOverflow: () => void) {
    this.#bus = bus;
    this.#jobs = jobs;
    this.#bufferSize = bufferSize;
    this.#onOverflow = onOverflow;
  }

  /** The same events with another reaction to a full buffer (a stream that serves several subscribers). */
  withOverflow(onOverflow: () => void): TenantEvents {
    return new TenantEvents(this.#bus, this.#jobs, this.#bufferSize, onOverflow);
  }

  #view(event: RawJobEvent): JobEventView | null {
    const queue = this.#jobs.names.unqualify(event.name);
    if (queue === null) return null;
    return { type: event.type, queue, jobId: event.jobId, state: event.state, retryCount: event.retryCount, at: event.at, progress: event.progress ?? null };
  }

  subscribe(filter: JobEventFilter): AsyncIterable<JobEventView> {
    if (filter.queue !== undefined) assertQueueName(filter.queue);
    if (filter.jobId !== undefined && !isUuid(filter.jobId)) throw badInput('"jobId" must be a job id (UUID)', { argument: 'jobId' });
    const jobId = filter.jobId;
    const types = filter.types?.length ? new Set(filter.types) : null;
    const concerns = (event: JobEventView) => (filter.queue === undefined || event.queue === filter.queue) && (jobId === undefined || event.jobId === jobId);
    const matches = (event: JobEventView) => types === null || types.has(event.type);

    const buffer = new FixedBuffer(this.#bufferSize);
    return new Repeater<JobEventView>(async (push, stop) => {
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
      const accept = (event: JobEventView) => {
        if (matches(event)) deliver(event);
      };
      // While the job is read and reconciled with the stream, its live events are held back, so
      // that they are delivered in order after what the read tells.
      let pending: JobEventView[] | null = null;
      const unsubscribe = this.#bus.subscribeTenant(this.#jobs.names.prefix.slice(0, -1), (raw) => {
        const event = this.#view(raw);
        if (!event || !concerns(event)) return;
        if (pending) pending.push(event);
        else accept(event);
      });
      /** The job's final state, if it is in one, is the news. */
      const reconcile = async (id: string) => {
        pending ??= [];
        try {
          const job = await this.#jobs.findJob(id, filter.queue);
          // Every notification committed before the lookup has now arrived.
          await this.#bus.sync();
          const held = pending;
          pending = null;
          if (held.length === 0 && job && FINAL_STATES.has(job.state) && matches(eventOf(job))) deliver(eventOf(job));
          for (const event of held) accept(event);
        } finally {
          if (pending) {
            for (const event of pending) accept(event);
            pending = null;
          }
        }
      };
      // After a gap in the notifications (the LISTEN connection was lost and is back), the bus
      // replays what was missed from the job-event log, in order, before live events resume.
      try {
        if (jobId !== undefined) await reconcile(jobId);
      } catch (error) {
        stop(error);
      }
      await stop;
      unsubscribe();
    }, buffer);
  }
}

/** The event of a job's current state, made from a read of it rather than from a notification. */
function eventOf(job: JobRecord): JobEventView {
  const at = FINAL_STATES.has(job.state) ? (job.completedOn ?? new Date()) : new Date();
  return { type: eventTypeForState(job.state), queue: job.queue, jobId: job.id, state: job.state, retryCount: job.retryCount, at, progress: null };
}
