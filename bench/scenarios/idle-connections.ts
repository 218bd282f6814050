import { readFileSync } from 'node:fs';
import type { Client } from 'graphql-ws';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import type { GatewayProcess } from '../gateway-process.ts';
import { round, sleep, summarize, waitFor } from '../stats.ts';
import { connect, execute, httpQuery, subscribe } from '../ws-client.ts';

const OPEN_PARALLEL = 200;
const OPEN_DEADLINE_MS = 240_000;
/** "Responsive": query p99 with every connection open within max(50 ms, 2× the p99 without them). */
const RESPONSIVE_P99_MS = 50;

/** The soft limit on open files of this process. */
function openFileLimit(): number {
  const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match ? Number(match[1]) : 1024;
}

async function queryLatencies(gateway: GatewayProcess, token: string, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    await httpQuery(gateway.graphqlUrl, token, DOCS.viewer);
    samples.push(performance.now() - began);
    await sleep(5);
  }
  return samples;
}

/** 10,000 graphql-ws connections, each with a `jobEvents` subscription, on a freshly started gateway. */
export async function idleConnections(ctx: BenchContext): Promise<ScenarioResult> {
  const notes: string[] = [];
  let target = ctx.options.idleConnections;
  const limit = openFileLimit();
  if (limit < target + 500) {
    notes.push(`open-file limit ${limit}: ${target} connections reduced to ${limit - 500} (run through npm run bench, which raises it)`);
    target = Math.max(0, limit - 500);
  }
  const gateway = await ctx.spawnGateway('idle');
  const queue = ctx.queueName('idle-probe');
  const clients: Client[] = [];
  try {
    // Warm-up: code paths loaded and JIT-compiled before the baseline.
    const warm = await connect(gateway.wsUrl, ctx.token);
    await execute(warm, DOCS.createQueue, { name: queue });
    const stopWarm = subscribe(warm, DOCS.jobEvents, { queue, types: ['CREATED'] }, () => {});
    await queryLatencies(gateway, ctx.token, 50);
    await sleep(2_000);
    const rssBefore = gateway.rssKiB();
    const idleBaseline = summarize(await queryLatencies(gateway, ctx.token, 100));

    ctx.log(`idle connections: opening ${target}`);
    let delivered = 0;
    let failed = 0;
    const openedAt = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: OPEN_PARALLEL }, async () => {
        while (next < target && performance.now() - openedAt < OPEN_DEADLINE_MS) {
          next++;
          try {
            const client = await connect(gateway.wsUrl, ctx.token);
            clients.push(client);
            subscribe(
              client,
              DOCS.jobEvents,
              { queue, types: ['CREATED'] },
              () => delivered++,
              () => failed++,
            );
          } catch {
            failed++;
          }
        }
      }),
    );
    const openSeconds = (performance.now() - openedAt) / 1000;
    await sleep(3_000);
    const rssAfter = gateway.rssKiB();
    const perConnectionKiB = (rssAfter - rssBefore) / Math.max(1, clients.length);

    // Every subscription is live: one event reaches all of them.
    const probeBegan = performance.now();
    await execute(warm, DOCS.sendJob, { queue, data: jobData(0) });
    await waitFor(() => delivered >= clients.length, 30_000, 5);
    const probeMs = performance.now() - probeBegan;
    const loaded = summarize(await queryLatencies(gateway, ctx.token, 100));
    const rssEnd = gateway.rssKiB();
    stopWarm();
    await warm.dispose();

    const allowedP99 = Math.max(RESPONSIVE_P99_MS, 2 * idleBaseline.p99);
    const responsive = delivered >= clients.length && loaded.p99 <= allowedP99;
    if (failed) notes.push(`${failed} connections or subscriptions failed`);
    return {
      id: 'idle-connections',
      title: `idle connections (${clients.length.toLocaleString('en')} graphql-ws + jobEvents)`,
      metrics: [
        metric(
          'RSS per connection',
          'KiB',
          null,
          round(perConnectionKiB, 1),
          '≤ 20 KiB',
          perConnectionKiB <= 20 && clients.length === ctx.options.idleConnections,
        ),
        metric('HTTP query p99, no connections', 'ms', null, round(idleBaseline.p99), '', null),
        metric('HTTP query p99, all connected', 'ms', null, round(loaded.p99), `≤ max(${RESPONSIVE_P99_MS} ms, 2× unloaded); probe reaches all`, responsive),
        metric('probe event to all subscribers', 'ms', null, round(probeMs, 0), '', null),
      ],
      details: {
        connections: clients.length,
        failed,
        openSeconds,
        rssBeforeKiB: rssBefore,
        rssAfterKiB: rssAfter,
        rssEndKiB: rssEnd,
        perConnectionKiB,
        queryIdle: idleBaseline,
        queryLoaded: loaded,
        probeDelivered: delivered,
        probeMs,
      },
      notes,
    };
  } finally {
    ctx.log(`idle connections: closing ${clients.length}`);
    // Abruptly, without 10,000 close handshakes: this gateway is thrown away anyway.
    for (const client of clients) client.terminate();
    await gateway.stop();
    await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${queue}`]);
  }
}
