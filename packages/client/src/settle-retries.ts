import { JobgateError } from './errors.ts';
import { backgroundTimeout } from './timers.ts';

/** Answers worth asking again after a pause: nothing was settled, and the job is still this worker's. */
const RETRYABLE_CODES = new Set(['RATE_LIMITED', 'SERVICE_UNAVAILABLE']);
const FIRST_PAUSE_MS = 200;
const LONGEST_PAUSE_MS = 5_000;

export function isRetryable(error: unknown): boolean {
  return error instanceof JobgateError && RETRYABLE_CODES.has(error.code ?? '');
}

const pause = (ms: number) => new Promise<void>((resolve) => backgroundTimeout(resolve, ms));

/**
 * Runs a settlement, again after a jittered back-off (0.2 s doubling to 5 s)
 * while the gateway answers with a retryable code, until `giveUpAt()` (epoch
 * ms, asked after every failure: a heartbeat may push it back, a stop bring
 * it forward). Past it the settlement cannot land any more, or the worker no
 * longer waits for it: the last error is thrown.
 */
export async function withRetries<T>(settle: () => Promise<T>, giveUpAt: () => number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await settle();
    } catch (error) {
      const left = giveUpAt() - Date.now();
      if (!isRetryable(error) || left <= 0) throw error;
      const backoff = Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (attempt - 1));
      await pause(Math.min(left, backoff / 2 + Math.random() * (backoff / 2)));
    }
  }
}
