import { readFileSync } from 'node:fs';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import type { GatewayProcess } from '../gateway-process.ts';
import { openIdleSocket, type IdleSocket } from '../idle-socket.ts';
import { round, sleep, summarize, waitFor, type LatencySummary } from '../stats.ts';
import { connect, execute, httpQuery, subscribe } from '../ws-client.ts';

const OPEN_PARALLEL = 200;
const OPEN_DEADLINE_MS = 300_000;
/** Sockets that also get one `jobEvents` subscription: the default run's count, what a dashboard per socket costs. */
const SUBSCRIBED_SOCKETS = 10_000;
/** Ephemeral ports one source address may use towards the gateway's port: well within the kernel's range. */
const SOCKETS_PER_SOURCE_ADDRESS = 10_000;
/** Descriptors each process keeps for everything but the sockets (pools, files, the HTTP probes). */
const SPARE_FILES = 500;
/** "Stays fast": p99 with every socket open within max(50 ms, 2× the p99 without them). */
const FAST_P99_MS = 50;
const SAMPLES = 100;

/** The soft limit on open files of a process. */
function openFileLimit(pid: number | 'self'): number {
  const match = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match ? Number(match[1]) : 1024;
}

/** Sockets 0–9,999 come from 127.0.0.2, the next 10,000 from 127.0.0.3, …: 50,000 exceed one address's ephemeral ports. */
function sourceAddress(index: number): string {
  return `127.0.0.${2 + Math.floor(index / SOCKETS_PER_SOURCE_ADDRESS)}`;
}

async function latencies(probe: () => Promise<unknown>): Promise<LatencySummary> {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const began = performance.now();
    await probe();
    samples.push(performance.now() - began);
    await sleep(5);
  }
  return summarize(samples);
}

/** The gateway's subscriptions under way, every tenant and field (its `jobgate_subscriptions` gauge). */
async function activeSubscriptions(gateway: GatewayProcess): Promise<number> {
  const text = await (await fetch(gateway.metricsUrl)).text();
  let total = 0;
  for (const match of text.matchAll(/^jobgate_subscriptions\{[^}]*\} (\S+)$/gm)) total += Number(match[1]);
  return total;
}

async function ready(gateway: GatewayProcess): Promise<void> {
  const response = await fetch(`${gateway.url}/ready`);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`/ready answered ${response.status}`);
}

/**
 * Authenticated graphql-ws sockets (connection_init with the token, acked) on a freshly started
 * gateway: RSS per socket, `/ready` and query latency with all of them open; then one `jobEvents`
 * subscription on each of the first 10,000 of them, and their extra RSS.
 */
export async function idleConnections(ctx: BenchContext): Promise<ScenarioResult> {
  const notes: string[] = [];
  const gateway = await ctx.spawnGateway('idle');
  const queue = ctx.queueName('idle-probe');
  const sockets: IdleSocket[] = [];
  try {
    const requested = ctx.options.idleConnections;
    const fileLimit = Math.min(openFileLimit('self'), openFileLimit(gateway.pid));
    const target = Math.min(requested, fileLimit - SPARE_FILES);
    if (target < requested) {
      notes.push(
        `open-file limit ${fileLimit} (bench ${openFileLimit('self')}, gateway ${openFileLimit(gateway.pid)}; npm run bench raises the soft limit to the hard one): ${requested.toLocaleString('en')} sockets reduced to ${target.toLocaleString('en')}`,
      );
    }
    const subscribedTarget = Math.min(target, SUBSCRIBED_SOCKETS);

    // Warm-up: code paths loaded and JIT-compiled before the baseline.
    const warm = await connect(gateway.wsUrl, ctx.token);
    await execute(warm, DOCS.createQueue, { name: queue });
    const stopWarm = subscribe(warm, DOCS.jobEvents, { queue, types: ['CREATED'] }, () => {});
    const query = () => httpQuery(gateway.graphqlUrl, ctx.token, DOCS.viewer);
    await latencies(query);
    await latencies(() => ready(gateway));
    await sleep(2_000);
    const rssBefore = gateway.rssKiB();
    const readyIdle = await latencies(() => ready(gateway));
    const queryIdle = await latencies(query);

    const addresses = Math.ceil(target / SOCKETS_PER_SOURCE_ADDRESS);
    ctx.log(`idle connections: opening ${target} from ${addresses} source address(es) 127.0.0.2–${sourceAddress(Math.max(0, target - 1))}`);
    let failed = 0;
    const errors = new Set<string>();
    const openedAt = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: OPEN_PARALLEL }, async () => {
        while (next < target && performance.now() - openedAt < OPEN_DEADLINE_MS) {
          const index = next++;
          try {
            sockets.push(await openIdleSocket(gateway.wsUrl, ctx.token, sourceAddress(index)));
          } catch (error) {
            failed++;
            errors.add(String(error));
          }
        }
      }),
    );
    const openSeconds = (performance.now() - openedAt) / 1000;
    ctx.log(`idle connections: ${sockets.length} open in ${openSeconds.toFixed(1)} s`);
    await sleep(3_000);
    const rssSockets = gateway.rssKiB();
    const perSocketKiB = (rssSockets - rssBefore) / Math.max(1, sockets.length);
    const readyLoaded = await latencies(() => ready(gateway));
    const queryLoaded = await latencies(query);

    // One jobEvents subscription on each of the first sockets.
    const subscribed = sockets.slice(0, subscribedTarget);
    let delivered = 0;
    let subscriptionErrors = 0;
    for (const socket of subscribed) {
      socket.subscribe(
        '1',
        DOCS.jobEvents,
        { queue, types: ['CREATED'] },
        () => delivered++,
        (error) => {
          subscriptionErrors++;
          errors.add(String(error));
        },
      );
    }
    // The warm-up's subscription besides: admitted by the gateway, then a moment for their streams to start.
    await waitFor(async () => (await activeSubscriptions(gateway)) >= subscribed.length + 1, 120_000, 250);
    await sleep(3_000);
    const rssSubscribed = gateway.rssKiB();
    const perSubscriptionKiB = (rssSubscribed - rssSockets) / Math.max(1, subscribed.length);
    // Every subscription is live: one event reaches all of them.
    const probeBegan = performance.now();
    await execute(warm, DOCS.sendJob, { queue, data: jobData(0) });
    await waitFor(() => delivered >= subscribed.length, 30_000, 5);
    const probeMs = performance.now() - probeBegan;
    const rssEnd = gateway.rssKiB();
    stopWarm();
    await warm.dispose();

    const fast = (loaded: LatencySummary, idle: LatencySummary) => loaded.p99 <= Math.max(FAST_P99_MS, 2 * idle.p99);
    const allOpen = sockets.length === requested;
    if (failed) notes.push(`${failed} sockets failed to open`);
    if (subscriptionErrors) notes.push(`${subscriptionErrors} subscription errors`);
    if (errors.size) notes.push(`errors: ${[...errors].slice(0, 3).join('; ')}`);
    return {
      id: 'idle-connections',
      title: `idle connections (${sockets.length.toLocaleString('en')} authenticated graphql-ws; ${subscribed.length.toLocaleString('en')} + jobEvents)`,
      metrics: [
        metric('RSS per authenticated socket', 'KiB', null, round(perSocketKiB, 1), '≤ 20 KiB', perSocketKiB <= 20 && allOpen),
        metric('RSS per socket with a jobEvents subscription', 'KiB', null, round(perSocketKiB + perSubscriptionKiB, 1), '', null),
        metric('/ready p99, no sockets', 'ms', null, round(readyIdle.p99), '', null),
        metric(
          '/ready p99, all sockets open',
          'ms',
          null,
          round(readyLoaded.p99),
          `≤ max(${FAST_P99_MS} ms, 2× no sockets)`,
          fast(readyLoaded, readyIdle) && allOpen,
        ),
        metric('HTTP query p99, no sockets', 'ms', null, round(queryIdle.p99), '', null),
        metric(
          'HTTP query p99, all sockets open',
          'ms',
          null,
          round(queryLoaded.p99),
          `≤ max(${FAST_P99_MS} ms, 2× no sockets)`,
          fast(queryLoaded, queryIdle) && allOpen,
        ),
        metric('probe event to all subscribers', 'ms', null, round(probeMs, 0), 'reaches all', delivered >= subscribed.length),
      ],
      details: {
        requested,
        sockets: sockets.length,
        subscribed: subscribed.length,
        sourceAddresses: addresses,
        openFileLimit: fileLimit,
        failed,
        openSeconds,
        rssBeforeKiB: rssBefore,
        rssSocketsKiB: rssSockets,
        rssSubscribedKiB: rssSubscribed,
        rssEndKiB: rssEnd,
        perSocketKiB,
        perSubscriptionKiB,
        readyIdle,
        readyLoaded,
        queryIdle,
        queryLoaded,
        probeDelivered: delivered,
        probeMs,
      },
      notes,
    };
  } finally {
    ctx.log(`idle connections: closing ${sockets.length}`);
    // Abruptly, without as many close handshakes: this gateway is thrown away anyway.
    for (const socket of sockets) socket.terminate();
    await gateway.stop();
    await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${queue}`]);
  }
}
