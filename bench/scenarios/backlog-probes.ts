import { createWorker, type Worker } from '@jobgate/client';
import type { Client } from 'graphql-ws';
import type { PgBoss } from 'pg-boss';
import type { BenchContext } from '../context.ts';
import { DOCS, jobData } from '../documents.ts';
import { startRawBoss, stopRawBoss } from '../raw-boss.ts';
import { signal } from '../signal.ts';
import { sleep } from '../stats.ts';
import { connect, execute, subscribe } from '../ws-client.ts';

/**
 * An idle worker on a queue of its own and a way to time one job sent to it:
 * `sample()` returns the ms from the send to the handler, NaN past `timeoutMs`.
 */
export interface DispatchProbe {
  sample(n: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

/** A few ms of jitter between samples, so the worker is idle and sends do not beat in step with anything. */
const gap = () => sleep(4 + Math.random() * 4);

/** Samples `count` sends after `warmup` untimed ones; returns the timings and how many timed out. */
export async function probeLatency(probe: DispatchProbe, warmup: number, count: number, timeoutMs: number): Promise<{ samples: number[]; missed: number }> {
  const samples: number[] = [];
  let missed = 0;
  for (let i = 0; i < warmup + count; i++) {
    const ms = await probe.sample(i, timeoutMs);
    if (Number.isNaN(ms)) missed++;
    else if (i >= warmup) samples.push(ms);
    await gap();
  }
  return { samples, missed };
}

/** `send` → `work()` handler, on a pg-boss instance of its own with LISTEN/NOTIFY on (as dispatch-latency's raw side). */
export async function rawProbe(ctx: BenchContext, queue: string): Promise<DispatchProbe> {
  const boss: PgBoss = await startRawBoss(ctx.databaseUrl, ctx.options.rawSchema, { useListenNotify: true, supervise: false, schedule: false });
  await boss.createQueue(queue, { notify: true });
  let arrived = signal(0);
  await boss.work(queue, async () => {
    arrived.fire(performance.now());
  });
  return {
    async sample(n, timeoutMs) {
      arrived = signal(timeoutMs);
      const began = performance.now();
      await boss.send(queue, jobData(n));
      return (await arrived.wait()) - began;
    },
    stop: () => stopRawBoss(boss),
  };
}

/**
 * `sendJob` → `workAssigned` push to an idle SDK worker (concurrency 1); each
 * sample waits for the job's COMPLETED event, so the next finds the worker idle.
 */
export async function gatewayProbe(ctx: BenchContext, queue: string): Promise<DispatchProbe> {
  const publisher: Client = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(publisher, DOCS.createQueue, { name: queue });
  let pushed = signal(0);
  let completed = signal(0);
  const stopEvents = subscribe(publisher, DOCS.jobEvents, { queue, types: ['COMPLETED'] }, () => completed.fire(performance.now()));
  const worker: Worker = createWorker({
    url: ctx.gateway.wsUrl,
    token: ctx.token,
    queues: [queue],
    concurrency: 1,
    handler: () => {
      pushed.fire(performance.now());
    },
    onError: (error) => ctx.log(`probe worker error: ${String(error)}`),
  });
  return {
    async sample(n, timeoutMs) {
      pushed = signal(timeoutMs);
      completed = signal(timeoutMs);
      const began = performance.now();
      const [, at] = await Promise.all([execute(publisher, DOCS.sendJob, { queue, data: jobData(n) }), pushed.wait()]);
      await completed.wait();
      return at - began;
    },
    async stop() {
      await worker.stop();
      stopEvents();
      await publisher.dispose();
    },
  };
}
