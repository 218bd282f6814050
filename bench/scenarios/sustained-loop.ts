import { createWorker } from '@jobgate/client';
import type pg from 'pg';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import type { GatewayProcess } from '../gateway-process.ts';
import { startRawBoss, stopRawBoss } from '../raw-boss.ts';
import { round, sleep } from '../stats.ts';
import { connect, execute } from '../ws-client.ts';

const WINDOW_MS = 5_000;
const BACKLOG = 5_000;
const WORKERS = 4;
const BATCH = 50;

interface Sustained {
  /** Completed jobs per second in each 5 s window since the work loop started. */
  windows: number[];
  /** Mean rate over the first 30 s and after 40 s. */
  early: number;
  late: number;
  /** Slowest window ÷ median window. */
  worstToMedian: number;
}

async function counts(pool: pg.Pool, schema: string, name: string): Promise<{ queued: number; completed: number }> {
  const { rows } = await pool.query<{ queued: number; completed: number }>(
    `SELECT count(*) FILTER (WHERE state IN ('created', 'retry'))::int AS queued, count(*) FILTER (WHERE state = 'completed')::int AS completed
       FROM "${schema}".job WHERE name = $1`,
    [name],
  );
  return rows[0] ?? { queued: 0, completed: 0 };
}

/** Keeps about BACKLOG jobs queued while the loop runs, and samples completions per window. */
async function sustain(ctx: BenchContext, schema: string, name: string, produce: (count: number) => Promise<void>): Promise<Sustained> {
  const seconds = ctx.options.sustainedSeconds;
  const began = performance.now();
  const end = began + seconds * 1000;
  const windows: number[] = [];
  let lastCompleted = (await counts(ctx.pool, schema, name)).completed;
  let windowStart = began;
  while (performance.now() < end) {
    const { queued, completed } = await counts(ctx.pool, schema, name);
    if (queued < BACKLOG) await produce(1_000);
    if (performance.now() - windowStart >= WINDOW_MS) {
      const now = performance.now();
      windows.push(((completed - lastCompleted) * 1000) / (now - windowStart));
      lastCompleted = completed;
      windowStart = now;
    }
    await sleep(50);
  }
  const sorted = [...windows].sort((a, b) => a - b);
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
  const early = mean(windows.slice(0, 30_000 / WINDOW_MS));
  const late = mean(windows.slice(40_000 / WINDOW_MS));
  return { windows: windows.map((w) => round(w, 0)), early, late, worstToMedian: (sorted[0] ?? 0) / (sorted[Math.floor(sorted.length / 2)] ?? 1) };
}

async function rawSustained(ctx: BenchContext, listenNotify: boolean): Promise<Sustained> {
  const queue = ctx.queueName(listenNotify ? 'raw-sustain-notify' : 'raw-sustain-poll');
  const boss = await startRawBoss(ctx.databaseUrl, ctx.options.rawSchema, { useListenNotify: listenNotify });
  await boss.createQueue(queue, { notify: listenNotify });
  let n = 0;
  const produce = async (count: number) => {
    await boss.insert(
      queue,
      Array.from({ length: count }, () => ({ data: jobData(n++) })),
    );
  };
  await produce(BACKLOG);
  await ctx.pool.query(`ANALYZE "${ctx.options.rawSchema}".job`);
  await boss.work(queue, { batchSize: BATCH, localConcurrency: WORKERS, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async () => {});
  const result = await sustain(ctx, ctx.options.rawSchema, queue, produce);
  await stopRawBoss(boss);
  await deleteJobs(ctx.pool, ctx.options.rawSchema, [queue]);
  return result;
}

async function gatewaySustained(ctx: BenchContext, gateway: GatewayProcess): Promise<Sustained> {
  const queue = ctx.queueName('gw-sustain');
  const qualified = `${ctx.tenantId}/${queue}`;
  const publisher = await connect(gateway.wsUrl, ctx.token);
  await execute(publisher, DOCS.createQueue, { name: queue });
  let n = 0;
  const produce = async (count: number) => {
    for (let done = 0; done < count; done += 1_000) {
      await execute(publisher, DOCS.sendJobs, { queue, jobs: Array.from({ length: Math.min(1_000, count - done) }, () => ({ data: jobData(n++) })) });
    }
  };
  await produce(BACKLOG);
  await ctx.pool.query(`ANALYZE "${ctx.gatewaySchema}".job`);
  const workers = Array.from({ length: WORKERS }, () =>
    createWorker({ url: gateway.wsUrl, token: ctx.token, queues: [queue], concurrency: BATCH, handler: () => undefined }),
  );
  const result = await sustain(ctx, ctx.gatewaySchema, qualified, produce);
  await Promise.all(workers.map((worker) => worker.stop()));
  await publisher.dispose();
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [qualified]);
  return result;
}

/**
 * Is there a slowdown 40–60 s after start? pg-boss's burst loop with its
 * LISTEN/NOTIFY mode on, the same without it, and a freshly started gateway,
 * each kept busy for `sustainedSeconds` with a standing backlog.
 */
export async function sustainedLoop(ctx: BenchContext): Promise<ScenarioResult> {
  ctx.log(`sustained loop: raw with LISTEN/NOTIFY, ${ctx.options.sustainedSeconds}s`);
  const notify = await rawSustained(ctx, true);
  ctx.log(`sustained loop: raw polling only, ${ctx.options.sustainedSeconds}s`);
  const polling = await rawSustained(ctx, false);
  ctx.log(`sustained loop: fresh gateway, ${ctx.options.sustainedSeconds}s`);
  const gateway = await ctx.spawnGateway('sustained');
  let gw: Sustained;
  try {
    gw = await gatewaySustained(ctx, gateway);
  } finally {
    await gateway.stop();
  }
  const steady = (s: Sustained) => s.worstToMedian >= 0.5;
  return {
    id: 'sustained-loop',
    title: `sustained loop (${ctx.options.sustainedSeconds} s, backlog ${BACKLOG.toLocaleString('en')}, ${WORKERS}×${BATCH})`,
    metrics: [
      metric('rate 0–30 s (raw: LISTEN/NOTIFY on)', 'jobs/s', round(notify.early, 0), round(gw.early, 0), '', null),
      metric('rate after 40 s (raw: LISTEN/NOTIFY on)', 'jobs/s', round(notify.late, 0), round(gw.late, 0), 'no slowdown', steady(gw)),
      metric('slowest ÷ median 5 s window (raw: notify on)', '×', round(notify.worstToMedian), round(gw.worstToMedian), '', null),
      metric('rate after 40 s (raw: polling only)', 'jobs/s', round(polling.late, 0), round(gw.late, 0), '', null),
    ],
    details: { rawListenNotify: notify, rawPolling: polling, gateway: gw },
    notes: [],
  };
}
