import { createWorker } from '@jobgate/client';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { cpuUse, loadNote, type CpuUse } from '../machine.ts';
import { missingPeerNotes, peerFigures, type Peer, type PeerId } from '../peers/peer.ts';
import { startRawBoss, stopRawBoss } from '../raw-boss.ts';
import { signal as oneShot } from '../signal.ts';
import { round, sleep, summarize, type LatencySummary } from '../stats.ts';
import { connect, execute, subscribe } from '../ws-client.ts';

const WARMUP = 20;
const SAMPLE_TIMEOUT_MS = 3_000;

/** A few ms of jitter between samples, so the worker is idle and sends do not beat in step with anything. */
const gap = () => sleep(4 + Math.random() * 4);

const signal = () => oneShot(SAMPLE_TIMEOUT_MS);

interface PeerLatency {
  summary: LatencySummary;
  missed: number;
  cpu: CpuUse;
}

/** A peer's add → handler at one idle worker of concurrency 1, sampled as the raw side is. */
async function peerLatency(ctx: BenchContext, peer: Peer): Promise<PeerLatency> {
  const queue = ctx.queueName(`${peer.id}-latency`);
  let arrived = signal();
  const stop = await peer.work(queue, 1, 1, () => arrived.fire(performance.now()));
  const samples: number[] = [];
  let missed = 0;
  ctx.log(`${peer.id} add → handler: ${ctx.options.latencySamples} samples`);
  const before = ctx.cpu();
  for (let i = 0; i < WARMUP + ctx.options.latencySamples; i++) {
    arrived = signal();
    const began = performance.now();
    await peer.add(queue, jobData(i));
    const at = await arrived.wait();
    if (Number.isNaN(at)) missed++;
    else if (i >= WARMUP) samples.push(at - began);
    await gap();
  }
  const cpu = cpuUse(before, ctx.cpu());
  await stop();
  await peer.clear(queue);
  return { summary: summarize(samples), missed, cpu };
}

/** `send` → `work()` handler (LISTEN/NOTIFY on) vs `sendJob` → `workAssigned` at an idle worker; each peer's add → handler beside. */
export async function dispatchLatency(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const rawQueue = ctx.queueName('raw-latency');
  const gwQueue = ctx.queueName('gw-latency');

  // ---- raw: its own instance, LISTEN/NOTIFY on, queue with notify ----
  const boss = await startRawBoss(ctx.databaseUrl, options.rawSchema, { useListenNotify: true, supervise: false, schedule: false });
  await boss.createQueue(rawQueue, { notify: true });
  let rawArrived = signal();
  await boss.work(rawQueue, async () => {
    rawArrived.fire(performance.now());
  });
  const rawSamples: number[] = [];
  let rawMissed = 0;
  ctx.log(`raw send → work(): ${options.latencySamples} samples`);
  const rawBefore = ctx.cpu();
  for (let i = 0; i < WARMUP + options.latencySamples; i++) {
    rawArrived = signal();
    const began = performance.now();
    await boss.send(rawQueue, jobData(i));
    const at = await rawArrived.wait();
    if (Number.isNaN(at)) rawMissed++;
    else if (i >= WARMUP) rawSamples.push(at - began);
    await gap();
  }
  const rawCpu = cpuUse(rawBefore, ctx.cpu());
  await stopRawBoss(boss);

  // ---- gateway: a publisher connection, an idle SDK worker, completions observed on jobEvents ----
  const publisher = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(publisher, DOCS.createQueue, { name: gwQueue });
  let pushed = signal();
  const handledAt = new Map<string, number>();
  const sentAt = new Map<string, number>();
  let completed = signal();
  const stopEvents = subscribe(publisher, DOCS.jobEvents, { queue: gwQueue, types: ['COMPLETED'] }, () => completed.fire(performance.now()));
  const worker = createWorker({
    url: ctx.gateway.wsUrl,
    token: ctx.token,
    queues: [gwQueue],
    concurrency: 1,
    handler: (job) => {
      handledAt.set(job.id, performance.now());
      pushed.fire(performance.now());
    },
    onError: (error) => ctx.log(`worker error: ${String(error)}`),
  });
  const gwSamples: number[] = [];
  const ackSamples: number[] = [];
  let gwMissed = 0;
  const missedIds: string[] = [];
  ctx.log(`gateway sendJob → workAssigned: ${options.latencySamples} samples`);
  const gwBefore = ctx.cpu();
  for (let i = 0; i < WARMUP + options.latencySamples; i++) {
    pushed = signal();
    completed = signal();
    const began = performance.now();
    const [sent, at] = await Promise.all([
      execute<{ sendJob: { id: string } }>(publisher, DOCS.sendJob, { queue: gwQueue, data: jobData(i) }).then((data) => {
        if (i >= WARMUP) ackSamples.push(performance.now() - began);
        return data.sendJob.id;
      }),
      pushed.wait(),
    ]);
    if (Number.isNaN(at)) {
      gwMissed++;
      missedIds.push(sent);
      sentAt.set(sent, began);
    } else if (i >= WARMUP) gwSamples.push(at - began);
    await completed.wait();
    await gap();
  }
  const gwCpu = cpuUse(gwBefore, ctx.cpu());
  await worker.stop();
  stopEvents();
  await publisher.dispose();

  const peers = new Map<PeerId, PeerLatency>();
  for (const peer of ctx.peers.available) peers.set(peer.id, await peerLatency(ctx, peer));

  // Where a missed sample's time went: waiting to be claimed, or after its claim.
  const { rows: missedRows } = await ctx.pool.query<{ id: string; claimedAfterMs: number | null }>(
    `SELECT id, extract(epoch FROM started_on - created_on) * 1000 AS "claimedAfterMs" FROM "${ctx.gatewaySchema}".job WHERE id = ANY($1::uuid[])`,
    [missedIds],
  );
  await deleteJobs(ctx.pool, options.rawSchema, [rawQueue]);
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${gwQueue}`]);

  const raw = summarize(rawSamples);
  const gw = summarize(gwSamples);
  const ack = summarize(ackSamples);
  const notes = [
    loadNote([
      ['raw', rawCpu],
      ['gateway', gwCpu],
    ]),
    ...missingPeerNotes(ctx.peers),
  ];
  const peerMissed = [...peers].filter(([, run]) => run.missed > 0).map(([id, run]) => `, ${id} ${run.missed}`);
  if (rawMissed || gwMissed || peerMissed.length)
    notes.push(`samples that took over ${SAMPLE_TIMEOUT_MS} ms (left out): raw ${rawMissed}, gateway ${gwMissed}${peerMissed.join('')}`);
  if (gwMissed) {
    // The gateway's own account (from ready to pushed) tells whether the time went before or after the push.
    const scraped = await (await fetch(ctx.gateway.metricsUrl)).text();
    const series = (suffix: string) =>
      [...scraped.matchAll(new RegExp(`^jobgate_dispatch_latency_seconds_${suffix} (\\d+)$`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
    notes.push(`gateway pushes that took over 1 s from ready to pushed (whole run): ${series('count\\{[^}]*\\}') - series('bucket\\{[^}]*le="1"[^}]*\\}')}`);
  }
  for (const row of missedRows) {
    const handled = handledAt.get(row.id);
    const handler = handled === undefined ? 'its handler never ran' : `its handler ran ${Math.round(handled - sentAt.get(row.id)!)} ms after the send`;
    notes.push(
      `missed gateway job ${row.id}: claimed ${row.claimedAfterMs === null ? 'never' : `${Math.round(row.claimedAfterMs)} ms`} after it was created; ${handler}`,
    );
  }
  const figures = (key: 'p50' | 'p99' | 'max') => peerFigures(new Map([...peers].map(([id, run]) => [id, round(run.summary[key])])));
  const graphileP50 = peers.get('graphile-worker')?.summary.p50;
  if (graphileP50 === undefined) notes.push('the p50 target compares with graphile-worker only when it was measured');
  return {
    id: 'dispatch-latency',
    title: 'dispatch latency (send → handler at an idle worker)',
    metrics: [
      metric(
        'p50',
        'ms',
        round(raw.p50),
        round(gw.p50),
        'below raw, ≤ graphile-worker',
        gw.p50 < raw.p50 && gwMissed === 0 && (graphileP50 === undefined || gw.p50 <= graphileP50),
        figures('p50'),
      ),
      metric('p99', 'ms', round(raw.p99), round(gw.p99), 'below raw', gw.p99 < raw.p99 && gwMissed === 0, figures('p99')),
      metric('max', 'ms', round(raw.max), round(gw.max), '', null, figures('max')),
    ],
    details: { raw, gateway: gw, sendJobAck: ack, rawMissed, gwMissed, rawCpu, gwCpu, peers: Object.fromEntries(peers) },
    notes,
  };
}
