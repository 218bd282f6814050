import { JobFailedError, type JobFailedType } from './errors.ts';
import type { ProducerJobOutcomeEventsSubscription } from './generated/types.ts';
import type { HttpEndpoint } from './http.ts';
import { JobOutcomeEventsDocument } from './producer-operations.ts';
import { resumingSubscription, type ReconnectDelays } from './resuming-subscription.ts';

export interface WaitOptions {
  /** Called with each progress report of the job (PROGRESS events), in order; the next waits for the promise it returns. */
  onProgress?: (progress: unknown) => void | Promise<void>;
  /** Stops waiting (the job goes on): rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Stops waiting after this long (the job goes on): rejects with a TimeoutError. */
  timeoutMs?: number;
}

const ENDINGS: ReadonlySet<string> = new Set<JobFailedType>(['FAILED', 'CANCELLED', 'DELETED']);
const isEnding = (type: string): type is JobFailedType => ENDINGS.has(type);

function timeoutError(jobId: string, ms: number): Error {
  const error = new Error(`job ${jobId} did not finish within ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}

/**
 * Follows one job's events (resuming by cursor across drops) until it ends:
 * resolves with its output when it COMPLETED, rejects with a JobFailedError
 * when it FAILED (after its last attempt: RETRY is no ending), was CANCELLED
 * or DELETED. A job that had already ended when the subscription started
 * yields that final event at once.
 */
export function jobOutcome(
  endpoint: HttpEndpoint,
  job: { id: string; queue: string },
  options: WaitOptions,
  delays: ReconnectDelays,
  started = Date.now(),
): Promise<unknown> {
  const { signal, timeoutMs, onProgress } = options;
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      subscription.stop();
      outcome();
    };
    // The signal's own reason, whatever it is, as fetch rejects with it.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const aborted = () => settle(() => reject(signal?.reason));

    const subscription = resumingSubscription(
      endpoint,
      JobOutcomeEventsDocument,
      { jobId: job.id },
      (data: ProducerJobOutcomeEventsSubscription) => data.jobEvents.cursor,
      {
        onData: async ({ jobEvents: event }) => {
          if (event.type === 'PROGRESS') return onProgress?.(event.progress);
          if (event.type === 'COMPLETED') return settle(() => resolve(event.job?.output ?? null));
          const { type } = event;
          if (!isEnding(type)) return;
          const failure = new JobFailedError({
            type,
            queue: event.queue,
            jobId: event.jobId,
            retryCount: event.retryCount,
            error: event.job?.error ?? null,
            output: event.job?.output ?? null,
          });
          settle(() => reject(failure));
        },
        onError: (error) => settle(() => reject(error)),
        onReconnect: () => {},
      },
      delays,
    );

    if (signal?.aborted) return aborted();
    signal?.addEventListener('abort', aborted);
    if (timeoutMs !== undefined) {
      const left = Math.max(0, timeoutMs - (Date.now() - started));
      timer = setTimeout(() => settle(() => reject(timeoutError(job.id, timeoutMs))), left);
    }
  });
}
