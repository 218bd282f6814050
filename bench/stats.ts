/** Percentiles and rates of benchmark samples. */

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values (`q` in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

export interface Throughput {
  items: number;
  seconds: number;
  perSecond: number;
}

export function throughput(items: number, milliseconds: number): Throughput {
  const seconds = milliseconds / 1000;
  return { items, seconds, perSecond: seconds > 0 ? items / seconds : 0 };
}

export const round = (value: number, digits = 2): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over `count` indexes with at most `limit` in flight. */
export async function inParallel(count: number, limit: number, fn: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await fn(next++);
  });
  await Promise.all(lanes);
}

/** Resolves once `check` returns true, polling every `everyMs`; false when `timeoutMs` passed first. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}

export interface TimedRun {
  /** Items done (jobs, calls) in the measured window. */
  items: number;
  elapsedMs: number;
  /** Duration of each call, ms. */
  callMs: number[];
}

/**
 * Calls `call` from `lanes` concurrent lanes until `durationMs` passed (no new
 * call starts after that); `call` returns how many items it did. The elapsed
 * time includes the last calls' tails, so nothing is counted for free.
 */
export async function runFor(durationMs: number, lanes: number, call: (lane: number) => Promise<number>): Promise<TimedRun> {
  const start = performance.now();
  const end = start + durationMs;
  const callMs: number[] = [];
  let items = 0;
  await Promise.all(
    Array.from({ length: lanes }, async (_unused, lane) => {
      while (performance.now() < end) {
        const began = performance.now();
        const done = await call(lane); // not `items += await …`: that reads `items` before the await
        items += done;
        callMs.push(performance.now() - began);
      }
    }),
  );
  return { items, elapsedMs: performance.now() - start, callMs };
}
