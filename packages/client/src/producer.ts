import { JobgateError } from './errors.ts';
import type { FetchLike, FetchResponse } from './fetch-like.ts';
import type { JobEventType, JobInput, JobOptionsInput, JobState, ProducerGetJobQuery, ProducerJobEventsSubscription } from './generated/types.ts';
import { postOperation, type HttpEndpoint } from './http.ts';
import { jobOutcome, type WaitOptions } from './job-outcome.ts';
import {
  CancelJobDocument,
  CompleteWithLeaseDocument,
  DeleteJobDocument,
  FailWithLeaseDocument,
  ProgressWithLeaseDocument,
  TouchWithLeaseDocument,
  GetJobDocument,
  JobEventsDocument,
  ResumeJobDocument,
  RetryJobDocument,
  SendJobDocument,
  SendJobsDocument,
} from './producer-operations.ts';
import { resumingSubscription, type ReconnectDelays } from './resuming-subscription.ts';

export type { FetchLike, FetchResponse, JobEventType, JobState, WaitOptions };

/** Per-job options; omitted ones come from the queue. */
export type SendOptions = JobOptionsInput;

/** One job of a `sendMany` batch: `data` is a JSON object or array. */
export type JobToSend = JobInput;

/** A job as `send`, `cancel`, `resume` and `retry` answer it. */
export interface JobSummary {
  id: string;
  queue: string;
  state: JobState;
}

/** A job as `getJob` answers it (times are ISO 8601 strings). */
export type Job = NonNullable<ProducerGetJobQuery['job']>;

/** One state change of a job, as `events()` delivers it (`at` is an ISO 8601 string). */
export type JobEvent = ProducerJobEventsSubscription['jobEvents'];

/** Which events `events()` follows; every field is optional. */
export interface EventFilter {
  queue?: string;
  jobId?: string;
  types?: readonly JobEventType[];
  /** A `JobEvent.cursor` (this tenant's): start right after that event. */
  after?: string;
}

export interface EventHandlers {
  /** Each event, in the log's order; the next is not delivered before the promise it returns settles. */
  onEvent(event: JobEvent): void | Promise<void>;
  /**
   * What ended the stream for good (default `console.error`): a JobgateError the gateway would
   * answer again (CURSOR_EXPIRED, BAD_USER_INPUT, FORBIDDEN, UNAUTHENTICATED, …), or a throw from `onEvent`.
   */
  onError?(error: unknown): void;
  /** A drop (the network, a gateway restart, 5xx, RATE_LIMITED) it reconnects after. */
  onReconnect?(error: unknown): void;
}

export interface EventStream {
  /** The cursor of the last event delivered (or the filter's `after`): persist it to resume there later. */
  readonly cursor: string | undefined;
  /** Settles once the stream ended: stopped, ended by the gateway, or by the error given to `onError`. */
  readonly done: Promise<void>;
  /** Ends the stream: no event is delivered after it. */
  stop(): void;
}

export interface ProducerOptions {
  /** The gateway's GraphQL endpoint over HTTP, e.g. http://localhost:4000/graphql */
  url: string;
  /** An API token: PUBLISH to send and manage jobs, READ for getJob. */
  token: string;
  /** A fetch implementation (default: the global `fetch`). */
  fetchImpl?: FetchLike;
  /** Attempts of a `send` whose request failed in a way worth retrying (default 5; 1 turns retries off). */
  sendAttempts?: number;
  /** Back-off bounds between reconnects of `events()` and `sendAndWait` (default 250 ms … 15 s, with jitter). */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
}

/** Every method rejects with a JobgateError when the gateway refuses the request. */
export interface Producer {
  /**
   * Sends one job, creating the queue with defaults on first use; null when a singleton, throttle
   * or debounce rule suppressed it. The job gets an id here unless `options.id` names one, so a
   * send retried after its answer was lost (the network, a gateway going away, 503, 429) never
   * stores the job twice: the retry finds it by its id.
   */
  send(queue: string, data: object, options?: SendOptions): Promise<JobSummary | null>;
  /**
   * Sends one job as `send` does, then follows its events until it ends (a READ scope too):
   * resolves with its output when it completed, rejects with a JobFailedError when it failed after
   * its last attempt, was cancelled or deleted. Survives drops of the event stream. With
   * `options.id` of a job already stored, waits for that job: safe to call again after a crash.
   */
  sendAndWait<TOutput = unknown>(queue: string, data: object, options?: SendOptions, wait?: WaitOptions): Promise<TOutput>;
  /**
   * Follows `jobEvents` over server-sent events (a READ token), resuming after the last event's
   * cursor when the stream drops, so that no event is missed or delivered twice.
   */
  events(filter: EventFilter, handlers: EventHandlers): EventStream;
  /** Sends a batch in one round trip; the ids in input order (jobs suppressed by a singleton rule are left out). */
  sendMany(queue: string, jobs: readonly JobToSend[]): Promise<string[]>;
  /** Cancels a job that has not finished. */
  cancel(queue: string, id: string): Promise<JobSummary>;
  /** Puts a cancelled job back in the queue. */
  resume(queue: string, id: string): Promise<JobSummary>;
  /** Queues a failed job again. */
  retry(queue: string, id: string): Promise<JobSummary>;
  /** Deletes a job (NOT_FOUND when the queue holds no such job). */
  delete(queue: string, id: string): Promise<boolean>;
  /** One job, or null when the queue holds no such job. */
  getJob(queue: string, id: string): Promise<Job | null>;
  /**
   * Settles a job a worker handed over with its `lease` (a WORK token): complete, fail, send a
   * heartbeat or report progress. A lease of another attempt, or of a job already settled, is CONFLICT.
   */
  complete(queue: string, id: string, lease: string, output?: object): Promise<JobSummary>;
  fail(queue: string, id: string, lease: string, error?: object | string): Promise<JobSummary>;
  touch(queue: string, id: string, lease: string): Promise<JobSummary>;
  reportProgress(queue: string, id: string, lease: string, progress: unknown): Promise<JobSummary>;
}

/** Failures after which a request may or may not have taken effect, and asking again may help. */
function worthRetrying(error: unknown): boolean {
  if (!(error instanceof JobgateError)) return true; // the network: fetch's own error
  if (error.code === 'SERVICE_UNAVAILABLE' || error.code === 'RATE_LIMITED') return true;
  return error.code === undefined && [502, 503, 504].includes(error.status ?? 0);
}

const pause = (attempt: number) => {
  const delay = Math.min(5_000, 200 * 2 ** (attempt - 1));
  return new Promise<void>((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
};

/** A client that sends and manages jobs over HTTP POST, one request per call. */
export function createProducer(options: ProducerOptions): Producer {
  const fetchImpl = options.fetchImpl ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('createProducer: there is no global fetch here; pass fetchImpl');
  const endpoint: HttpEndpoint = { url: options.url, token: options.token, fetchImpl };

  const getJob = async (queue: string, id: string) => (await postOperation(endpoint, GetJobDocument, { queue, id })).job;
  const sendAttempts = Math.max(1, options.sendAttempts ?? 5);
  const delays: ReconnectDelays = { minDelayMs: options.reconnect?.minDelayMs ?? 250, maxDelayMs: options.reconnect?.maxDelayMs ?? 15_000 };

  const send: Producer['send'] = async (queue, data, sendOptions) => {
    const idempotent = { ...sendOptions, id: sendOptions?.id ?? globalThis.crypto.randomUUID() };
    for (let attempt = 1; ; attempt++) {
      try {
        const sent = (await postOperation(endpoint, SendJobDocument, { queue, data, options: idempotent })).sendJob;
        if (sent !== null || attempt === 1) return sent;
        // An earlier attempt may have stored the job though its answer was lost.
        const stored = await getJob(queue, String(idempotent.id));
        return stored ? { id: stored.id, queue: stored.queue, state: stored.state } : null;
      } catch (error) {
        if (attempt >= sendAttempts || !worthRetrying(error)) throw error;
        await pause(attempt);
      }
    }
  };

  return {
    send,
    sendAndWait: async <TOutput>(queue: string, data: object, sendOptions?: SendOptions, wait: WaitOptions = {}) => {
      const started = Date.now();
      wait.signal?.throwIfAborted();
      // A job already stored under the id asked for (a sendAndWait called again) is waited for.
      const sent = (await send(queue, data, sendOptions)) ?? (sendOptions?.id ? await getJob(queue, String(sendOptions.id)) : null);
      if (!sent) throw new JobgateError('sendAndWait: a singleton, throttle or debounce rule suppressed the job: there is nothing to wait for');
      return (await jobOutcome(endpoint, sent, wait, delays, started)) as TOutput;
    },
    events: (filter, handlers) =>
      resumingSubscription(
        endpoint,
        JobEventsDocument,
        { queue: filter.queue ?? null, jobId: filter.jobId ?? null, types: filter.types ? [...filter.types] : null, after: filter.after ?? null },
        (data) => data.jobEvents.cursor,
        {
          onData: (data) => handlers.onEvent(data.jobEvents),
          onError: (error) => (handlers.onError ? handlers.onError(error) : console.error('jobgate events:', error)),
          onReconnect: (error) => handlers.onReconnect?.(error),
        },
        delays,
      ),
    sendMany: async (queue, jobs) => (await postOperation(endpoint, SendJobsDocument, { queue, jobs: [...jobs] })).sendJobs,
    cancel: async (queue, id) => (await postOperation(endpoint, CancelJobDocument, { queue, id })).cancelJob,
    resume: async (queue, id) => (await postOperation(endpoint, ResumeJobDocument, { queue, id })).resumeJob,
    retry: async (queue, id) => (await postOperation(endpoint, RetryJobDocument, { queue, id })).retryJob,
    delete: async (queue, id) => (await postOperation(endpoint, DeleteJobDocument, { queue, id })).deleteJob,
    getJob,
    complete: async (queue, id, lease, output) =>
      (await postOperation(endpoint, CompleteWithLeaseDocument, { queue, id, lease, output: output ?? null })).completeJob,
    fail: async (queue, id, lease, error) => (await postOperation(endpoint, FailWithLeaseDocument, { queue, id, lease, error: error ?? null })).failJob,
    touch: async (queue, id, lease) => (await postOperation(endpoint, TouchWithLeaseDocument, { queue, id, lease })).touchJob,
    reportProgress: async (queue, id, lease, progress) =>
      (await postOperation(endpoint, ProgressWithLeaseDocument, { queue, id, lease, progress })).reportProgress,
  };
}
