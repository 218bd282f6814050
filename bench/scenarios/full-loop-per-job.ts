import type { Client } from 'graphql-ws';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { addCpu, cpuPerItem, cpuUse, loadNote, NO_CPU, type CpuUse } from '../machine.ts';
import { missingPeerNotes, peerFigures, type Peer, type PeerId } from '../peers/peer.ts';
import { round, sleep, throughput, waitFor } from '../stats.ts';
import { connect, execute, subscribe } from '../ws-client.ts';

const WORKERS = 4;
const CONCURRENCY = 32;
const LOOP_TIMEOUT_MS = 180_000;

interface PerJobRun {
  elapsed: number;
  cpu: CpuUse;
  /** Settlements the gateway refused, by code (RATE_LIMITED above all). */
  refused: Record<string, number>;
  /** Jobs pushed more than once. */
  duplicates: number;
  /** A peer's time to start its workers, inside `elapsed` (they begin on the queued jobs as they come up). */
  workerStartMs?: number;
}

async function completedCount(ctx: BenchContext, schema: string, name: string): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".job WHERE name = $1 AND state = 'completed'`, [name]);
  return rows[0]?.n ?? 0;
}

/** pg-boss's own per-job loop: 4 `work()` registrations of 32 handlers, each job completed on its own. */
async function rawLoop(ctx: BenchContext, run: number, jobs: number): Promise<PerJobRun> {
  const { raw, options } = ctx;
  const queue = ctx.queueName(`raw-per-job-${run}`);
  await raw.createQueue(queue);
  for (let i = 0; i < jobs; i += 1000)
    await raw.insert(
      queue,
      Array.from({ length: Math.min(1000, jobs - i) }, (_u, k) => ({ data: jobData(i + k) })),
    );
  await ctx.pool.query(`ANALYZE "${options.rawSchema}".job`);
  await sleep(200);
  const before = ctx.cpu();
  const began = performance.now();
  let handled = 0;
  for (let w = 0; w < WORKERS; w++) {
    await raw.work(queue, { batchSize: 1, localConcurrency: CONCURRENCY, pollingIntervalSeconds: 0.5 }, async () => {
      handled++;
    });
  }
  const finished =
    (await waitFor(() => handled >= jobs, LOOP_TIMEOUT_MS, 2)) &&
    (await waitFor(async () => (await completedCount(ctx, options.rawSchema, queue)) >= jobs, 30_000, 5));
  const elapsed = finished ? performance.now() - began : Number.NaN;
  const cpu = cpuUse(before, ctx.cpu());
  await raw.offWork(queue);
  await deleteJobs(ctx.pool, options.rawSchema, [queue]);
  return { elapsed, cpu, refused: {}, duplicates: Math.max(0, handled - jobs) };
}

/** A peer's per-job loop, as the raw one: jobs queued first, then 4 workers × 32 empty handlers, each job completed on its own. */
async function peerLoop(ctx: BenchContext, peer: Peer, run: number, jobs: number): Promise<PerJobRun> {
  const queue = ctx.queueName(`${peer.id}-per-job-${run}`);
  for (let i = 0; i < jobs; i += 1000)
    await peer.addBatch(
      queue,
      Array.from({ length: Math.min(1000, jobs - i) }, (_u, k) => jobData(i + k)),
    );
  await sleep(200);
  const before = ctx.cpu();
  const began = performance.now();
  let handled = 0;
  const stop = await peer.work(queue, WORKERS, CONCURRENCY, () => {
    handled++;
  });
  const workerStartMs = performance.now() - began;
  const finished = (await waitFor(() => handled >= jobs, LOOP_TIMEOUT_MS, 2)) && (await waitFor(async () => (await peer.pending(queue)) === 0, 30_000, 5));
  const elapsed = finished ? performance.now() - began : Number.NaN;
  const cpu = cpuUse(before, ctx.cpu());
  await stop();
  await peer.clear(queue);
  return { elapsed, cpu, refused: {}, duplicates: Math.max(0, handled - jobs), workerStartMs };
}

/** 4 plain graphql-ws workers × 32, each pushed job completed with its own completeJob, as the tenant a user creates. */
async function gatewayLoop(ctx: BenchContext, run: number, jobs: number): Promise<PerJobRun> {
  const { defaultTenant } = ctx;
  const queue = ctx.queueName(`gw-per-job-${run}`);
  const qualified = `${defaultTenant.tenantId}/${queue}`;
  const refused: Record<string, number> = {};
  const pushed = new Map<string, number>();
  const refuse = (code: unknown) => (refused[String(code)] = (refused[String(code)] ?? 0) + 1);
  // Workers first, as deployments start them: their queue is created on first use.
  const sockets: Client[] = await Promise.all(Array.from({ length: WORKERS }, () => connect(ctx.gateway.wsUrl, defaultTenant.token)));
  const stops = sockets.map((socket) =>
    subscribe<{ workAssigned: { id: string } }>(
      socket,
      DOCS.workAssigned,
      { queues: [queue], concurrency: CONCURRENCY },
      ({ workAssigned: { id } }) => {
        pushed.set(id, (pushed.get(id) ?? 0) + 1);
        socket.subscribe(
          { query: DOCS.completeJob, variables: { queue, id } },
          { next: (result) => result.errors?.forEach((error) => refuse(error.extensions?.code)), error: refuse, complete: () => {} },
        );
      },
      (error) => refuse(`subscription: ${String(error)}`),
    ),
  );
  await waitFor(async () => (await ctx.pool.query(`SELECT 1 FROM "${ctx.gatewaySchema}".queue WHERE name = $1`, [qualified])).rowCount === 1, 10_000, 20);
  const before = ctx.cpu();
  const began = performance.now();
  const publisher = await connect(ctx.gateway.wsUrl, defaultTenant.token);
  for (let i = 0; i < jobs; i += 1000) {
    await execute(publisher, DOCS.sendJobs, { queue, jobs: Array.from({ length: Math.min(1000, jobs - i) }, (_u, k) => ({ data: jobData(i + k) })) });
  }
  const finished =
    (await waitFor(() => pushed.size >= jobs, LOOP_TIMEOUT_MS, 2)) &&
    (await waitFor(async () => (await completedCount(ctx, ctx.gatewaySchema, qualified)) >= jobs, 30_000, 5));
  const elapsed = finished ? performance.now() - began : Number.NaN;
  const cpu = cpuUse(before, ctx.cpu());
  for (const stop of stops) stop();
  for (const socket of [publisher, ...sockets]) void socket.dispose();
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [qualified]);
  return { elapsed, cpu, refused, duplicates: [...pushed.values()].filter((times) => times > 1).length };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * The loop as a plain worker writes it: every job completed with its own
 * completeJob, with the tenant limits a user gets by default (the bench's
 * main tenant has raised ones; this scenario uses a tenant left as created).
 */
export async function fullLoopPerJob(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const jobs = options.perJobLoopJobs;
  const rawRuns: PerJobRun[] = [];
  const gwRuns: PerJobRun[] = [];
  const peerRuns = new Map<PeerId, PerJobRun[]>(ctx.peers.available.map((peer) => [peer.id, []]));
  const sides: ('raw' | 'gateway' | Peer)[] = ['raw', 'gateway', ...ctx.peers.available];
  for (let run = 0; run < options.perJobLoopRuns; run++) {
    const order = run % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const what = side === 'raw' ? 'raw work()' : side === 'gateway' ? 'gateway workAssigned + completeJob' : side.id;
      ctx.log(`per-job loop run ${run + 1}/${options.perJobLoopRuns}: ${what}, ${jobs} jobs`);
      if (side === 'raw') rawRuns.push(await rawLoop(ctx, run, jobs));
      else if (side === 'gateway') gwRuns.push(await gatewayLoop(ctx, run, jobs));
      else peerRuns.get(side.id)!.push(await peerLoop(ctx, side, run, jobs));
    }
  }
  const rawRate = throughput(jobs, median(rawRuns.map((r) => r.elapsed))).perSecond;
  const gwRate = throughput(jobs, median(gwRuns.map((r) => r.elapsed))).perSecond;
  const peerRates = new Map([...peerRuns].map(([id, runs]) => [id, throughput(jobs, median(runs.map((r) => r.elapsed))).perSecond]));
  const graphileRate = peerRates.get('graphile-worker');
  const refusals = gwRuns.reduce((sum, r) => sum + Object.values(r.refused).reduce((a, b) => a + b, 0), 0);
  const duplicates = gwRuns.reduce((sum, r) => sum + r.duplicates, 0);
  const rawCpu = rawRuns.reduce((sum, r) => addCpu(sum, r.cpu), NO_CPU);
  const gwCpu = gwRuns.reduce((sum, r) => addCpu(sum, r.cpu), NO_CPU);
  const notes = [
    'the tenant as created, with the default limits (500 operations/s)',
    `median of ${options.perJobLoopRuns} runs each`,
    ...missingPeerNotes(ctx.peers),
  ];
  if (graphileRate === undefined) notes.push('the throughput target compares with graphile-worker only when it was measured');
  if ([...rawRuns, ...gwRuns, ...[...peerRuns.values()].flat()].some((r) => Number.isNaN(r.elapsed)))
    notes.push(`a run did not finish within ${LOOP_TIMEOUT_MS / 1000} s`);
  if (refusals) notes.push(`refused settlements: ${JSON.stringify(gwRuns.map((r) => r.refused))}`);
  notes.push(
    loadNote([
      ['raw', rawCpu],
      ['gateway', gwCpu],
    ]),
  );
  return {
    id: 'full-loop-per-job',
    title: `full loop, one completeJob per job (${jobs.toLocaleString('en')} jobs, ${WORKERS}×${CONCURRENCY}, default tenant limits)`,
    metrics: [
      metric(
        'throughput',
        'jobs/s',
        round(rawRate, 0),
        round(gwRate, 0),
        '≥ 0.8× raw, ≥ 5,000 jobs/s, ahead of graphile-worker',
        gwRate >= 0.8 * rawRate && gwRate >= 5_000 && (graphileRate === undefined || gwRate > graphileRate),
        peerFigures(new Map([...peerRates].map(([id, rate]) => [id, round(rate, 0)]))),
      ),
      metric('refused settlements (RATE_LIMITED …)', 'count', null, refusals, '0', refusals === 0),
      metric('jobs pushed twice', 'count', null, duplicates, '0', duplicates === 0),
      metric(
        'CPU per job (all our processes)',
        'µs',
        round(cpuPerItem(rawCpu, jobs * rawRuns.length), 0),
        round(cpuPerItem(gwCpu, jobs * gwRuns.length), 0),
        '',
        null,
      ),
    ],
    details: { raw: rawRuns, gateway: gwRuns, peers: Object.fromEntries(peerRuns), workers: WORKERS, concurrency: CONCURRENCY },
    notes,
  };
}
