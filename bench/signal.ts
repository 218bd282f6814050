import { sleep } from './stats.ts';

/** A one-shot signal: `wait()` resolves with the time `fire()` was called, or NaN after `timeoutMs`. */
export interface Signal {
  fire(at: number): void;
  wait(): Promise<number>;
}

export function signal(timeoutMs: number): Signal {
  let fire: (at: number) => void = () => {};
  const fired = new Promise<number>((resolve) => (fire = resolve));
  const timeout = sleep(timeoutMs).then(() => Number.NaN);
  return { fire: (at: number) => fire(at), wait: () => Promise.race([fired, timeout]) };
}
