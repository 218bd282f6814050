import type { Client, FormattedExecutionResult } from 'graphql-ws';

/** A live subscription whose results are collected and awaited by predicate. */
export interface Collected<T> {
  results: FormattedExecutionResult<T, unknown>[];
  /** Resolves with the first result (already received or future) matching `predicate`. */
  waitFor(predicate: (data: T) => boolean, timeoutMs?: number): Promise<T>;
  /** Resolves with the error the subscription ended with. */
  error: Promise<unknown>;
  ready: Promise<void>;
  stop(): void;
}

export function collect<T = Record<string, any>>(client: Client, query: string, variables?: Record<string, unknown>): Collected<T> {
  const results: FormattedExecutionResult<T, unknown>[] = [];
  const waiters: { predicate: (data: T) => boolean; resolve: (data: T) => void }[] = [];
  let failWith: (error: unknown) => void = () => {};
  const error = new Promise<unknown>((resolve) => (failWith = resolve));
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        results.push(result);
        const data = result.data;
        if (result.errors) failWith(result.errors);
        if (!data) return;
        for (const waiter of [...waiters]) {
          if (waiter.predicate(data)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(data);
          }
        }
      },
      error: (e) => failWith(e),
      complete: () => {},
    },
  );
  return {
    results,
    error,
    ready: Promise.resolve(),
    stop,
    waitFor(predicate, timeoutMs = 5_000) {
      const found = results.find((r) => r.data && predicate(r.data));
      if (found?.data) return Promise.resolve(found.data);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching result within ${timeoutMs} ms; got ${JSON.stringify(results)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (data) => (clearTimeout(timer), resolve(data)) });
      });
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
