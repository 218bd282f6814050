import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

export interface Memory {
  /** Resident set size, MiB. */
  rss: number;
  /** V8 heap in use, MiB. */
  heap: number;
}

/**
 * This process's memory after a full garbage collection, so that what a test
 * measures is memory still held, not garbage not yet collected. The gateways
 * of the tests run in this process.
 */
export function settledMemory(): Memory {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / 2 ** 20, heap: heapUsed / 2 ** 20 };
}
