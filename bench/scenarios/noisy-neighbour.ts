import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { openLightSubscriber } from '../light-subscriber.ts';
import { cpuUse, loadNote } from '../machine.ts';
import { inParallel, round, sleep, summarize, waitFor } from '../stats.ts';
import { createUserTenant } from '../user-tenant.ts';
import { connect, execute } from '../ws-client.ts';

const BATCH = 1_000;
/** Tenant B sends one job this often, throughout. */
const B_EVERY_MS = 20;
const TARGET_P99_MS = 50;
/** How long A's subscriber may take to receive the flood's last events once the sends are done. */
const DRAIN_TIMEOUT_MS = 30_000;

type Phase = 'idle' | 'flood' | 'drain';

interface EventData {
  jobEvents: { jobId: string };
}

/** The error code of a failed `execute` (RATE_LIMITED and the like), or its message. */
function errorCode(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? text.slice(0, 80);
}

/**
 * The gateway's event-loop delay since the last scrape, in ms (prom-client
 * resets its histogram on every collect; nothing else scrapes it meanwhile).
 */
async function gatewayLoopDelay(metricsUrl: string): Promise<{ p50: number; p99: number; max: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string) => Number(new RegExp(`^jobgate_process_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
  return { p50: read('p50'), p99: read('p99'), max: read('max') };
}

const count = (tally: Record<string, number>, key: string) => (tally[key] = (tally[key] ?? 0) + 1);
const describe = (tally: Record<string, number>) =>
  Object.entries(tally)
    .map(([code, times]) => `${times} ${code}`)
    .join(', ');

/**
 * Two tenants made as a user makes them, with the default limits: tenant A
 * floods its queue with `sendJobs` of 1,000 (100,000 jobs, so 100,000
 * `CREATED` events) while tenant B sends one job every 20 ms; each has a
 * `jobEvents` subscriber. B's latency from send to event during A's flood,
 * against B's own with A idle (before and after the flood) in the same run.
 */
export async function noisyNeighbour(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const floodJobs = options.noisyFloodEvents;
  const queue = 'noisy';
  const tenantA = await createUserTenant(ctx.databaseUrl, ctx.queueName('tenant-a'));
  const tenantB = await createUserTenant(ctx.databaseUrl, ctx.queueName('tenant-b'));
  const publisherA = await connect(ctx.gateway.wsUrl, tenantA.token);
  const publisherB = await connect(ctx.gateway.wsUrl, tenantB.token);
  await execute(publisherA, DOCS.createQueue, { name: queue });
  await execute(publisherB, DOCS.createQueue, { name: queue });

  // A's subscriber: which of its jobs' events arrived, and whether it was cut off.
  const receivedA = new Set<string>();
  let duplicatesA = 0;
  const errorsA: string[] = [];
  const subscriberA = await openLightSubscriber(
    ctx.gateway.wsUrl,
    tenantA.token,
    DOCS.jobEvents,
    { queue, types: ['CREATED'] },
    (data) => {
      const { jobId } = (data as unknown as EventData).jobEvents;
      if (receivedA.has(jobId)) duplicatesA++;
      receivedA.add(jobId);
    },
    (error) => errorsA.push(String(error)),
  );

  // B's subscriber: the latency of each of B's jobs, from its send to its event, by the phase it was sent in.
  let phase: Phase = 'idle';
  const latency: Record<Phase, number[]> = { idle: [], flood: [], drain: [] };
  /** How long B's sendJob took to answer, by phase: where the time went, before or after the send. */
  const answered: Record<Phase, number[]> = { idle: [], flood: [], drain: [] };
  const sentB = new Map<string, { began: number; phase: Phase }>();
  const arrivedB = new Map<string, number>();
  const errorsB: string[] = [];
  const subscriberB = await openLightSubscriber(
    ctx.gateway.wsUrl,
    tenantB.token,
    DOCS.jobEvents,
    { queue, types: ['CREATED'] },
    (data) => {
      const at = performance.now();
      const { jobId } = (data as unknown as EventData).jobEvents;
      const sent = sentB.get(jobId);
      if (!sent) return void arrivedB.set(jobId, at);
      sentB.delete(jobId);
      latency[sent.phase].push(at - sent.began);
    },
    (error) => errorsB.push(String(error)),
  );

  // Subscriptions start asynchronously: each tenant sends until its subscriber has seen one event.
  const warmUp = async (publisher: typeof publisherA, seen: () => boolean) => {
    for (let attempt = 0; attempt < 50 && !seen(); attempt++) {
      await execute(publisher, DOCS.sendJob, { queue, data: jobData(-1 - attempt) });
      await waitFor(seen, 200, 2);
    }
    if (!seen()) throw new Error('a subscriber received no warm-up event');
  };
  await warmUp(publisherA, () => receivedA.size > 0);
  await warmUp(publisherB, () => arrivedB.size > 0);
  receivedA.clear();
  arrivedB.clear();

  // B's traffic, on a fixed schedule whatever its sends' latency: one sendJob every 20 ms.
  const refusedB: Record<string, number> = {};
  let inFlightB = 0;
  let sentCountB = 0;
  const sendB = () => {
    const began = performance.now();
    const sentIn = phase;
    inFlightB++;
    sentCountB++;
    execute<{ sendJob: { id: string } }>(publisherB, DOCS.sendJob, { queue, data: jobData(sentCountB) }).then(
      ({ sendJob }) => {
        inFlightB--;
        answered[sentIn].push(performance.now() - began);
        const at = arrivedB.get(sendJob.id);
        if (at === undefined) return void sentB.set(sendJob.id, { began, phase: sentIn });
        arrivedB.delete(sendJob.id);
        latency[sentIn].push(at - began);
      },
      (error: unknown) => {
        inFlightB--;
        count(refusedB, errorCode(error));
      },
    );
  };
  const timerB = setInterval(sendB, B_EVERY_MS);
  const idleMs = options.noisyIdleSeconds * 1000;

  ctx.log(`noisy neighbour: tenant B alone for ${options.noisyIdleSeconds}s`);
  await sleep(idleMs);

  ctx.log(`noisy neighbour: tenant A sends ${floodJobs.toLocaleString('en')} jobs in sendJobs of ${BATCH}, ${options.batchInFlight} in flight`);
  const floodIds: string[] = [];
  const refusedA: Record<string, number> = {};
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  await gatewayLoopDelay(ctx.gateway.metricsUrl);
  const before = ctx.cpu();
  loopDelay.enable();
  phase = 'flood';
  const floodBegan = performance.now();
  await inParallel(Math.ceil(floodJobs / BATCH), options.batchInFlight, async (index) => {
    const jobs = Array.from({ length: Math.min(BATCH, floodJobs - index * BATCH) }, (_, i) => ({ data: jobData(index * BATCH + i) }));
    try {
      const { sendJobs } = await execute<{ sendJobs: string[] }>(publisherA, DOCS.sendJobs, { queue, jobs });
      floodIds.push(...sendJobs);
    } catch (error) {
      count(refusedA, errorCode(error));
    }
  });
  const floodSeconds = (performance.now() - floodBegan) / 1000;
  loopDelay.disable();
  const cpu = cpuUse(before, ctx.cpu());
  const gatewayDelay = await gatewayLoopDelay(ctx.gateway.metricsUrl);
  phase = 'drain';
  const receivedAtFloodEnd = floodIds.filter((id) => receivedA.has(id)).length;
  const drained = await waitFor(() => floodIds.every((id) => receivedA.has(id)) || errorsA.length > 0, DRAIN_TIMEOUT_MS, 50);
  const drainSeconds = (performance.now() - floodBegan) / 1000 - floodSeconds;

  ctx.log(`noisy neighbour: tenant B alone again for ${options.noisyIdleSeconds}s`);
  phase = 'idle';
  await sleep(idleMs);
  clearInterval(timerB);
  await waitFor(() => inFlightB === 0 && sentB.size === 0, 3_000, 5);
  const lostB = sentB.size + inFlightB;

  subscriberA.close();
  subscriberB.close();
  await publisherA.dispose();
  await publisherB.dispose();
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${tenantA.tenantId}/${queue}`, `${tenantB.tenantId}/${queue}`]);

  const receivedFlood = floodIds.filter((id) => receivedA.has(id)).length;
  const lostA = floodIds.length - receivedFlood;
  const idle = summarize(latency.idle);
  const flood = summarize(latency.flood);
  const drain = summarize(latency.drain);
  const answer = { idle: summarize(answered.idle), flood: summarize(answered.flood), drain: summarize(answered.drain) };
  const refusedBCount = Object.values(refusedB).reduce((sum, n) => sum + n, 0);
  const notes = [
    `tenant A's flood: ${floodIds.length.toLocaleString('en')} jobs in ${round(floodSeconds, 1)} s (${options.batchInFlight} sendJobs of ${BATCH} in flight); its subscriber had ${receivedAtFloodEnd.toLocaleString('en')} of their events when the last send returned, ${drained ? 'all' : receivedFlood.toLocaleString('en')} ${round(drainSeconds, 1)} s later`,
    `tenant B: ${latency.flood.length} jobs sent during the flood, ${latency.idle.length} with A idle${latency.drain.length ? `; ${latency.drain.length} while A's subscriber caught up, p50 / p99 ${round(drain.p50)} / ${round(drain.p99)} ms` : ''}`,
    `tenant B's sendJob answered in p50 / p99 ${round(answer.flood.p50)} / ${round(answer.flood.p99)} ms during the flood, ${round(answer.idle.p50)} / ${round(answer.idle.p99)} ms with A idle`,
    `event loops late during the flood by p99 / max: the gateway's ${round(gatewayDelay.p99, 1)} / ${round(gatewayDelay.max, 1)} ms, the bench process's ${round(loopDelay.percentile(99) / 1e6, 1)} / ${round(loopDelay.max / 1e6, 1)} ms (A's events are read in the same process as B's)`,
    `${loadNote([['', cpu]])}; gateway CPU during the flood ${round(cpu.gateway / Math.max(cpu.elapsed, 1e-9), 2)} cores, PostgreSQL ${round(cpu.postgres / Math.max(cpu.elapsed, 1e-9), 2)}`,
  ];
  if (Object.keys(refusedA).length)
    notes.push(`tenant A's sendJobs refused under the default limits: ${describe(refusedA)} (of ${Math.ceil(floodJobs / BATCH)})`);
  if (refusedBCount) notes.push(`tenant B's sendJob refused: ${describe(refusedB)}`);
  if (lostB) notes.push(`${lostB} of tenant B's jobs had no event 3 s after the end`);
  if (lostA || duplicatesA) notes.push(`tenant A's subscriber: ${lostA} of the flood's events missing, ${duplicatesA} twice`);
  for (const error of [...errorsA.map((e) => `A: ${e}`), ...errorsB.map((e) => `B: ${e}`)].slice(0, 5)) notes.push(`subscriber error, ${error}`);

  return {
    id: 'noisy-neighbour',
    title: `noisy neighbour (tenant A sends ${floodJobs.toLocaleString('en')} jobs; tenant B one a ${B_EVERY_MS} ms)`,
    metrics: [
      metric("B's event p50, A idle", 'ms', null, round(idle.p50), '', null),
      metric("B's event p99, A idle", 'ms', null, round(idle.p99), '', null),
      metric("B's event p50, A flooding", 'ms', null, round(flood.p50), '', null),
      metric(
        "B's event p99, A flooding",
        'ms',
        null,
        round(flood.p99),
        `p99 ≤ ${TARGET_P99_MS} ms`,
        flood.p99 <= TARGET_P99_MS && lostB === 0 && refusedBCount === 0,
      ),
      metric("A's flood", 'events/s', null, Math.round(floodIds.length / floodSeconds), '', null),
      metric(
        "A's subscriber received",
        'events',
        null,
        receivedFlood,
        `all ${floodIds.length.toLocaleString('en')}`,
        lostA === 0 && duplicatesA === 0 && errorsA.length === 0,
      ),
    ],
    details: {
      floodJobs,
      floodSent: floodIds.length,
      floodSeconds,
      drainSeconds,
      refusedA,
      refusedB,
      receivedA: receivedFlood,
      receivedAtFloodEnd,
      lostA,
      duplicatesA,
      lostB,
      latencyB: { idle, flood, drain },
      sendJobAnswerB: answer,
      gatewayLoopDelayMs: gatewayDelay,
      benchLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      cpu,
      errors: { a: errorsA, b: errorsB },
    },
    notes,
  };
}
