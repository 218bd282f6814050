import { createWorker, type Worker } from '@jobgate/client';
import type pg from 'pg';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { addCpu, cpuPerItem, cpuUse, loadNote, NO_CPU, type CpuUse } from '../machine.ts';
import { round, sleep, throughput, waitFor } from '../stats.ts';
import { connect, execute } from '../ws-client.ts';

const WORKERS = 4;
const BATCH = 50;
const LOOP_TIMEOUT_MS = 180_000;

async function completedCount(pool: pg.Pool, schema: string, name: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".job WHERE name = $1 AND state = 'completed'`, [name]);
  return rows[0]?.n ?? 0;
}

/**
 * Waits until `total` jobs of `name` are completed; returns the ms from
 * `began`, NaN on timeout. The database is asked only once every job has
 * reached a handler (`handled`, counted in memory on both sides): counting a
 * queue's completed rows costs PostgreSQL a scan of all of them, and asking
 * every 20 ms throughout took ~10% of a core away from the loop being timed,
 * more the longer a side took.
 */
async function untilCompleted(pool: pg.Pool, schema: string, name: string, total: number, began: number, handled: () => number): Promise<number> {
  const deadline = began + LOOP_TIMEOUT_MS;
  const finished =
    (await waitFor(() => handled() >= total, LOOP_TIMEOUT_MS, 2)) &&
    (await waitFor(async () => (await completedCount(pool, schema, name)) >= total, Math.max(0, deadline - performance.now()), 5));
  return finished ? performance.now() - began : Number.NaN;
}

export interface LoopRun {
  elapsed: number;
  cpu: CpuUse;
}

async function rawLoop(ctx: BenchContext, run: number): Promise<LoopRun> {
  const { raw, options } = ctx;
  const queue = ctx.queueName(`raw-loop-${run}`);
  await raw.createQueue(queue);
  for (let i = 0; i < options.loopJobs; i += 1000) {
    await raw.insert(
      queue,
      Array.from({ length: Math.min(1000, options.loopJobs - i) }, (_u, k) => ({ data: jobData(i + k) })),
    );
  }
  // As autovacuum would have by the time a backlog is worked: without fresh statistics the fetch
  // plan sorts the whole backlog on every call (~30 ms instead of ~3 ms here), on both sides.
  await ctx.pool.query(`ANALYZE "${options.rawSchema}".job`);
  await sleep(200);
  const before = ctx.cpu();
  const began = performance.now();
  let handled = 0;
  await raw.work(queue, { batchSize: BATCH, localConcurrency: WORKERS, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    handled += jobs.length;
  });
  const elapsed = await untilCompleted(ctx.pool, options.rawSchema, queue, options.loopJobs, began, () => handled);
  const cpu = cpuUse(before, ctx.cpu());
  await raw.offWork(queue);
  await deleteJobs(ctx.pool, options.rawSchema, [queue]);
  return { elapsed, cpu };
}

/** The gateway side: jobs sent through the bench's gateway, worker `i` on `workerUrls[i % n]` (graphql-ws URLs). */
export async function gatewayLoop(ctx: BenchContext, run: number, workerUrls: readonly string[] = [ctx.gateway.wsUrl]): Promise<LoopRun> {
  const { options } = ctx;
  const queue = ctx.queueName(`gw-loop-${run}`);
  const qualified = `${ctx.tenantId}/${queue}`;
  const publisher = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(publisher, DOCS.createQueue, { name: queue });
  for (let i = 0; i < options.loopJobs; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, options.loopJobs - i) }, (_u, k) => ({ data: jobData(i + k) }));
    await execute(publisher, DOCS.sendJobs, { queue, jobs });
  }
  await publisher.dispose();
  await ctx.pool.query(`ANALYZE "${ctx.gatewaySchema}".job`);
  // Let the gateway digest the 20,000 CREATED notifications before the clock starts.
  await sleep(1_000);
  const before = ctx.cpu();
  const began = performance.now();
  let handled = 0;
  const workers: Worker[] = Array.from({ length: WORKERS }, (_, i) =>
    createWorker({
      url: workerUrls[i % workerUrls.length]!,
      token: ctx.token,
      queues: [queue],
      concurrency: BATCH,
      handler: () => {
        handled++;
      },
      onError: (error) => ctx.log(`worker error: ${String(error)}`),
    }),
  );
  const elapsed = await untilCompleted(ctx.pool, ctx.gatewaySchema, qualified, options.loopJobs, began, () => handled);
  const cpu = cpuUse(before, ctx.cpu());
  await Promise.all(workers.map((worker) => worker.stop()));
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [qualified]);
  return { elapsed, cpu };
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** 20,000 queued jobs worked to `completed`: `work()` in burst mode vs 4 `workAssigned` workers. */
export async function fullLoop(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const rawRuns: LoopRun[] = [];
  const gwRuns: LoopRun[] = [];
  for (let run = 0; run < options.loopRuns; run++) {
    // Alternate which side goes first, so that drift in the machine's load weighs on both.
    const order = run % 2 === 0 ? (['raw', 'gateway'] as const) : (['gateway', 'raw'] as const);
    for (const side of order) {
      ctx.log(`full loop run ${run + 1}/${options.loopRuns}: ${side === 'raw' ? 'raw work()' : 'gateway workAssigned'}, ${options.loopJobs} jobs`);
      if (side === 'raw') rawRuns.push(await rawLoop(ctx, run));
      else gwRuns.push(await gatewayLoop(ctx, run));
    }
  }
  const rawMs = rawRuns.map((r) => r.elapsed);
  const gwMs = gwRuns.map((r) => r.elapsed);
  const rawRate = throughput(options.loopJobs, median(rawMs)).perSecond;
  const gwRate = throughput(options.loopJobs, median(gwMs)).perSecond;
  const rawCpu = rawRuns.reduce((sum, r) => addCpu(sum, r.cpu), NO_CPU);
  const gwCpu = gwRuns.reduce((sum, r) => addCpu(sum, r.cpu), NO_CPU);
  const jobs = options.loopJobs * options.loopRuns;
  const notes = options.loopRuns > 1 ? [`median of ${options.loopRuns} runs each`] : [];
  if (rawMs.some(Number.isNaN) || gwMs.some(Number.isNaN)) notes.push(`a run did not finish within ${LOOP_TIMEOUT_MS / 1000} s`);
  notes.push(
    `${loadNote([
      ['raw', rawCpu],
      ['gateway', gwCpu],
    ])}; gateway process ${round((gwCpu.gateway / jobs) * 1e6, 0)} µs CPU per job`,
  );
  return {
    id: 'full-loop',
    title: `full loop (${options.loopJobs.toLocaleString('en')} jobs, ${WORKERS}×${BATCH})`,
    metrics: [
      metric('throughput', 'jobs/s', round(rawRate, 0), round(gwRate, 0), '≥ 0.5× raw', gwRate >= 0.5 * rawRate),
      metric('CPU per job (all our processes)', 'µs', round(cpuPerItem(rawCpu, jobs), 0), round(cpuPerItem(gwCpu, jobs), 0), '', null),
    ],
    details: {
      raw: { runsMs: rawMs, cpu: rawCpu, options: { batchSize: BATCH, localConcurrency: WORKERS, burstWhenBatchFull: true } },
      gateway: { runsMs: gwMs, cpu: gwCpu, workers: WORKERS, concurrency: BATCH },
    },
    notes,
  };
}
