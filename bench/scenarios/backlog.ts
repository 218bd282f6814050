import { createWorker, type Worker } from '@jobgate/client';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { addCpu, cpuPerItem, cpuUse, loadNote, NO_CPU, type CpuUse } from '../machine.ts';
import { startRawBoss, stopRawBoss } from '../raw-boss.ts';
import { inParallel, round, sleep, summarize, throughput, waitFor } from '../stats.ts';
import { connect, execute } from '../ws-client.ts';
import { gatewayProbe, probeLatency, rawProbe, type DispatchProbe } from './backlog-probes.ts';

const WORKERS = 10;
const BATCH = 50;
const INSERT_BATCH = 5_000;
const INSERTS_IN_FLIGHT = 2;
const PROBE_WARMUP = 10;
const PROBE_TIMEOUT_MS = 3_000;
/** The first send after the fill waits behind every notification of it: a generous bound. */
const CATCH_UP_TIMEOUT_MS = 60_000;
/** Share of the backlog each side may drain in all its measured windows, and in each warm-up. */
const DRAIN_SHARE = 0.3;
const WARMUP_SHARE = 0.05;
/** "Flat": the gateway's RSS may grow by this much over its start, through fill and drain. */
const RSS_BOUND_MIB = 64;

interface Sizes {
  windowSeconds: number;
  warmupSeconds: number;
  rounds: number;
  samples: number;
}

const sizesOf = (ctx: BenchContext): Sizes =>
  ctx.options.quick
    ? { windowSeconds: 2, warmupSeconds: 0.5, rounds: 1, samples: 20 }
    : ctx.options.full
      ? { windowSeconds: 20, warmupSeconds: 2, rounds: 2, samples: 400 }
      : { windowSeconds: 5, warmupSeconds: 1, rounds: 2, samples: 100 };

interface MemorySample {
  seconds: number;
  phase: string;
  rssKiB: number;
  /** V8 heap in use, from the gateway's /metrics (NaN if the scrape failed). */
  heapUsedKiB: number;
}

async function heapUsedKiB(ctx: BenchContext): Promise<number> {
  try {
    const scraped = await (await fetch(ctx.gateway.metricsUrl)).text();
    const match = /^jobgate_process_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(scraped);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Samples the gateway's RSS and V8 heap every second, tagged with the phase the scenario is in. */
function memorySampler(ctx: BenchContext) {
  const began = performance.now();
  const samples: MemorySample[] = [];
  let phase = 'start';
  const take = async () => {
    const at = { seconds: round((performance.now() - began) / 1000, 1), phase, rssKiB: ctx.gateway.rssKiB() };
    samples.push({ ...at, heapUsedKiB: await heapUsedKiB(ctx) });
  };
  const timer = setInterval(() => void take(), 1_000);
  return {
    samples,
    start: take,
    enter(next: string) {
      phase = next;
      void take();
    },
    async stop() {
      clearInterval(timer);
      await take();
    },
  };
}

async function fill(count: number, insert: (jobs: { data: ReturnType<typeof jobData> }[]) => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await inParallel(Math.ceil(count / INSERT_BATCH), INSERTS_IN_FLIGHT, async (batch) => {
    const from = batch * INSERT_BATCH;
    await insert(Array.from({ length: Math.min(INSERT_BATCH, count - from) }, (_u, k) => ({ data: jobData(from + k) })));
  });
  return performance.now() - began;
}

interface DrainSide {
  items: number;
  elapsedMs: number;
  cpu: CpuUse;
}

/**
 * One drain window: workers start, a warm-up (seconds or a share of the
 * backlog, whichever ends first) is not counted, then jobs reaching a handler
 * are counted for `windowSeconds` or until the window's share is drained.
 */
async function drainWindow(
  ctx: BenchContext,
  sizes: Sizes,
  backlog: number,
  handled: () => number,
  start: () => Promise<void>,
  stop: () => Promise<void>,
): Promise<DrainSide> {
  await start();
  const warmFrom = handled();
  await waitFor(() => handled() - warmFrom >= backlog * WARMUP_SHARE, sizes.warmupSeconds * 1000, 5);
  const from = handled();
  const before = ctx.cpu();
  const began = performance.now();
  await waitFor(() => handled() - from >= (backlog * DRAIN_SHARE) / sizes.rounds, sizes.windowSeconds * 1000, 5);
  const result = { items: handled() - from, elapsedMs: performance.now() - began, cpu: cpuUse(before, ctx.cpu()) };
  await stop();
  return result;
}

const addDrain = (a: DrainSide, b: DrainSide): DrainSide => ({ items: a.items + b.items, elapsedMs: a.elapsedMs + b.elapsedMs, cpu: addCpu(a.cpu, b.cpu) });

async function rateLimitedTotal(ctx: BenchContext): Promise<number> {
  const scraped = await (await fetch(ctx.gateway.metricsUrl)).text();
  return [...scraped.matchAll(/^jobgate_rate_limited_total(?:\{[^}]*\})? (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

interface BacklogQueues {
  raw: string;
  rawProbe: string;
  gateway: string;
  gatewayProbe: string;
}

/**
 * A deep queue: `backlogJobs` queued in one queue on each side, the dispatch
 * latency of another queue of the same tenant with the backlog sitting
 * against with none, then 10 workers draining it (a share of it, in windows
 * alternating between the sides), and the gateway's RSS throughout. The jobs
 * are deleted at the end, whatever happened, so later scenarios do not work
 * on top of them.
 */
export async function backlog(ctx: BenchContext): Promise<ScenarioResult> {
  const queues: BacklogQueues = {
    raw: ctx.queueName('raw-backlog'),
    rawProbe: ctx.queueName('raw-backlog-probe'),
    gateway: ctx.queueName('gw-backlog'),
    gatewayProbe: ctx.queueName('gw-backlog-probe'),
  };
  try {
    return await measure(ctx, queues);
  } finally {
    ctx.log('backlog: deleting the backlog');
    await deleteJobs(ctx.pool, ctx.options.rawSchema, [queues.raw, queues.rawProbe]);
    await deleteJobs(
      ctx.pool,
      ctx.gatewaySchema,
      [queues.gateway, queues.gatewayProbe].map((queue) => `${ctx.tenantId}/${queue}`),
    );
  }
}

async function measure(ctx: BenchContext, queues: BacklogQueues): Promise<ScenarioResult> {
  const { options, raw } = ctx;
  const sizes = sizesOf(ctx);
  const depth = options.backlogJobs;
  const { raw: rawQueue, rawProbe: rawProbeQueue, gateway: gwQueue, gatewayProbe: gwProbeQueue } = queues;
  const gwQualified = `${ctx.tenantId}/${gwQueue}`;
  const memory = memorySampler(ctx);
  await memory.start();

  await raw.createQueue(rawQueue);
  const publisher = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(publisher, DOCS.createQueue, { name: gwQueue });
  await publisher.dispose();
  // The gateway's fill goes into its tenant queue with pg-boss's insert, as sendJobs does, without
  // GraphQL's 1,000-job cap per call; the gateway's trigger logs and notifies every job all the same.
  const gwBoss = await startRawBoss(ctx.databaseUrl, ctx.gatewaySchema, { supervise: false, schedule: false, migrate: false });
  const probes: { raw: DispatchProbe; gateway: DispatchProbe } = { raw: await rawProbe(ctx, rawProbeQueue), gateway: await gatewayProbe(ctx, gwProbeQueue) };

  const latencyAt = async (label: string) => {
    ctx.log(`backlog: dispatch at depth ${label}, ${sizes.samples} samples per side`);
    return {
      raw: await probeLatency(probes.raw, PROBE_WARMUP, sizes.samples, PROBE_TIMEOUT_MS),
      gateway: await probeLatency(probes.gateway, PROBE_WARMUP, sizes.samples, PROBE_TIMEOUT_MS),
    };
  };
  memory.enter('latency at depth 0');
  const empty = await latencyAt('0');

  memory.enter('fill raw');
  ctx.log(`backlog: filling ${depth.toLocaleString('en')} jobs per side`);
  const rawFillMs = await fill(depth, (jobs) => raw.insert(rawQueue, jobs));
  const rawCatchUpMs = await probes.raw.sample(0, CATCH_UP_TIMEOUT_MS);
  memory.enter('fill gateway');
  const gwFillBefore = ctx.cpu();
  const gwFillMs = await fill(depth, (jobs) => gwBoss.insert(gwQualified, jobs));
  // Notifications arrive in commit order: this job's push waits until the gateway has read every line of the fill.
  const gwCatchUpMs = await probes.gateway.sample(0, CATCH_UP_TIMEOUT_MS);
  const gwFillCpu = cpuUse(gwFillBefore, ctx.cpu());
  await stopRawBoss(gwBoss);
  // As autovacuum would have by the time a backlog is worked (see full-loop), on both sides.
  await ctx.pool.query(`ANALYZE "${options.rawSchema}".job`);
  await ctx.pool.query(`ANALYZE "${ctx.gatewaySchema}".job`);
  memory.enter('latency at depth');
  const deep = await latencyAt(depth.toLocaleString('en'));
  await probes.raw.stop();
  await probes.gateway.stop();

  let rawHandled = 0;
  let gwHandled = 0;
  let workers: Worker[] = [];
  const rawStart = () =>
    raw
      .work(rawQueue, { batchSize: BATCH, localConcurrency: WORKERS, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        rawHandled += jobs.length;
      })
      .then(() => {});
  const rawStop = () => raw.offWork(rawQueue);
  const gwStart = async () => {
    workers = Array.from({ length: WORKERS }, () =>
      createWorker({
        url: ctx.gateway.wsUrl,
        token: ctx.token,
        queues: [gwQueue],
        concurrency: BATCH,
        handler: () => {
          gwHandled++;
        },
        onError: (error) => ctx.log(`worker error: ${String(error)}`),
      }),
    );
  };
  const gwStop = async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
  };
  const rateLimitedBefore = await rateLimitedTotal(ctx);
  let rawDrain: DrainSide = { items: 0, elapsedMs: 0, cpu: NO_CPU };
  let gwDrain: DrainSide = { items: 0, elapsedMs: 0, cpu: NO_CPU };
  for (let r = 0; r < sizes.rounds; r++) {
    const order = r % 2 === 0 ? (['raw', 'gateway'] as const) : (['gateway', 'raw'] as const);
    for (const side of order) {
      memory.enter(`drain ${side} ${r + 1}`);
      ctx.log(`backlog: drain round ${r + 1}/${sizes.rounds}, ${side === 'raw' ? `raw work() ${WORKERS}×${BATCH}` : `${WORKERS} SDK workers of ${BATCH}`}`);
      if (side === 'raw') rawDrain = addDrain(rawDrain, await drainWindow(ctx, sizes, depth, () => rawHandled, rawStart, rawStop));
      else gwDrain = addDrain(gwDrain, await drainWindow(ctx, sizes, depth, () => gwHandled, gwStart, gwStop));
    }
  }
  const rateLimited = (await rateLimitedTotal(ctx)) - rateLimitedBefore;
  // Give the gateway's completions of the last window a moment, then read its memory at the end.
  await sleep(1_000);
  await memory.stop();

  const { rows: left } = await ctx.pool.query<{ name: string; state: string; n: number }>(
    `SELECT name, state::text, count(*)::int AS n FROM "${ctx.gatewaySchema}".job WHERE name = $1 GROUP BY 1, 2
     UNION ALL SELECT name, state::text, count(*)::int FROM "${options.rawSchema}".job WHERE name = $2 GROUP BY 1, 2`,
    [gwQualified, rawQueue],
  );

  const latency = {
    raw: { empty: summarize(empty.raw.samples), deep: summarize(deep.raw.samples) },
    gateway: { empty: summarize(empty.gateway.samples), deep: summarize(deep.gateway.samples) },
  };
  const missed = { raw: empty.raw.missed + deep.raw.missed, gateway: empty.gateway.missed + deep.gateway.missed };
  const rawRate = throughput(rawDrain.items, rawDrain.elapsedMs).perSecond;
  const gwRate = throughput(gwDrain.items, gwDrain.elapsedMs).perSecond;
  const rssKiB = memory.samples.map((s) => s.rssKiB);
  const heapKiB = memory.samples.map((s) => s.heapUsedKiB).filter(Number.isFinite);
  // Heap in use falls back to what is kept at each major GC: its low during the drain tells retention from garbage.
  const drainHeapLow = Math.min(...memory.samples.filter((s) => s.phase.startsWith('drain') && Number.isFinite(s.heapUsedKiB)).map((s) => s.heapUsedKiB));
  const rssStart = rssKiB[0]!;
  const rssMax = Math.max(...rssKiB);
  const rssEnd = rssKiB.at(-1)!;
  const mib = (kib: number) => round(kib / 1024, 0);
  const depthRatio = latency.gateway.deep.p50 / latency.gateway.empty.p50;
  const drainedShare = (items: number) => `${round((items / depth) * 100, 0)}%`;

  const notes = [
    options.full ? `depth ${depth.toLocaleString('en')}` : `depth ${depth.toLocaleString('en')} (--full: 1,000,000)`,
    `fill: raw insert into its queue; gateway: pg-boss insert of ${INSERT_BATCH.toLocaleString('en')} into the tenant queue "${ctx.tenantId}/…" in the gateway's schema (the path of sendJobs without its 1,000-job cap), its trigger logging every job; ${INSERTS_IN_FLIGHT} batches in flight; not counted in the drain`,
    `drain: ${sizes.rounds} window(s) of ≤ ${sizes.windowSeconds} s per side after a warm-up, alternating; drained in the windows: raw ${drainedShare(rawDrain.items)}, gateway ${drainedShare(gwDrain.items)} of the backlog`,
    `gateway RSS start ${mib(rssStart)} / max ${mib(rssMax)} / end ${mib(rssEnd)} MiB, V8 heap in use start ${mib(heapKiB[0] ?? Number.NaN)} / max ${mib(Math.max(...heapKiB))} / end ${mib(heapKiB.at(-1) ?? Number.NaN)} MiB (sampled every second through fill and drain)`,
    `gateway CPU during its fill: ${round(gwFillCpu.gateway, 1)} s over ${round(gwFillCpu.elapsed, 1)} s (reading ${depth.toLocaleString('en')} CREATED lines)`,
    `${loadNote([
      ['raw', rawDrain.cpu],
      ['gateway', gwDrain.cpu],
    ])} (drain)`,
  ];
  if (missed.raw || missed.gateway) notes.push(`samples that took over ${PROBE_TIMEOUT_MS} ms (left out): raw ${missed.raw}, gateway ${missed.gateway}`);
  if (rateLimited) notes.push(`operations refused RATE_LIMITED during the drain: ${rateLimited}`);

  return {
    id: 'backlog',
    title: `backlog (${depth.toLocaleString('en')} queued jobs, ${WORKERS}×${BATCH} draining)`,
    metrics: [
      metric('drain throughput', 'jobs/s', round(rawRate, 0), round(gwRate, 0), '≥ 0.8× raw', gwRate >= 0.8 * rawRate),
      metric('dispatch p50, depth 0', 'ms', round(latency.raw.empty.p50), round(latency.gateway.empty.p50), '', null),
      metric(
        'dispatch p50, at depth',
        'ms',
        round(latency.raw.deep.p50),
        round(latency.gateway.deep.p50),
        `≤ 1.5× depth 0 (${round(depthRatio)}×)`,
        depthRatio <= 1.5 && missed.gateway === 0,
      ),
      metric('dispatch p99, depth 0', 'ms', round(latency.raw.empty.p99), round(latency.gateway.empty.p99), '', null),
      metric('dispatch p99, at depth', 'ms', round(latency.raw.deep.p99), round(latency.gateway.deep.p99), '', null),
      metric('first dispatch after the fill', 'ms', round(rawCatchUpMs), round(gwCatchUpMs), '', null),
      metric('fill', 'jobs/s', round(throughput(depth, rawFillMs).perSecond, 0), round(throughput(depth, gwFillMs).perSecond, 0), '', null),
      metric('gateway RSS max − start', 'MiB', null, mib(rssMax - rssStart), `≤ ${RSS_BOUND_MIB} MiB`, rssMax - rssStart <= RSS_BOUND_MIB * 1024),
      metric('gateway V8 heap in use, lowest in the drain − start', 'MiB', null, mib(drainHeapLow - (heapKiB[0] ?? Number.NaN)), '', null),
      metric(
        'CPU per job, drain (all our processes)',
        'µs',
        round(cpuPerItem(rawDrain.cpu, rawDrain.items), 0),
        round(cpuPerItem(gwDrain.cpu, gwDrain.items), 0),
        '',
        null,
      ),
    ],
    details: {
      depth,
      sizes,
      fillMs: { raw: rawFillMs, gateway: gwFillMs },
      catchUpMs: { raw: rawCatchUpMs, gateway: gwCatchUpMs },
      gwFillCpu,
      latency,
      missed,
      drain: { raw: rawDrain, gateway: gwDrain, workers: WORKERS, batch: BATCH },
      rateLimited,
      jobsLeft: left,
      memory: memory.samples,
    },
    notes,
  };
}
