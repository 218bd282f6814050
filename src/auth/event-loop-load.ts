import { performance, type EventLoopUtilization } from 'node:perf_hooks';

const SAMPLE_MS = 250;
/** The share of a sample the event loop spent running code, past which the instance counts as busy. */
const BUSY_UTILIZATION = 0.9;

/**
 * How busy this process's event loop is (performance.eventLoopUtilization
 * over the last quarter second): the gateway's own measure of "saturated",
 * where a tenant past its fair share starts to cost the others.
 */
export class EventLoopLoad {
  #last: EventLoopUtilization = performance.eventLoopUtilization();
  #utilization = 0;
  #timer: NodeJS.Timeout | undefined;

  start(): void {
    this.#timer ??= setInterval(() => {
      const now = performance.eventLoopUtilization();
      this.#utilization = performance.eventLoopUtilization(now, this.#last).utilization;
      this.#last = now;
    }, SAMPLE_MS).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get busy(): boolean {
    return this.#utilization >= BUSY_UTILIZATION;
  }
}
