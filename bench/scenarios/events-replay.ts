import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { openLightSubscriber } from '../light-subscriber.ts';
import { cpuUse, loadNote } from '../machine.ts';
import { round, sleep, summarize, waitFor } from '../stats.ts';
import { connect, execute } from '../ws-client.ts';

const BATCH = 1_000;
/** One live send this often while the backlog replays. */
const LIVE_EVERY_MS = 20;

interface EventsData {
  jobEvents: { type: string; jobId: string; cursor: string };
}

/**
 * A subscriber comes back with its cursor to a backlog of logged events
 * (`jobEvents(after:)`) while live traffic goes on: how fast the backlog
 * arrives, and what a live subscriber's events wait meanwhile.
 */
export async function eventsReplay(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const backlog = options.replayEvents;
  const queue = ctx.queueName('replay');
  const liveQueue = ctx.queueName('replay-live');
  const publisher = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(publisher, DOCS.createQueue, { name: queue });
  await execute(publisher, DOCS.createQueue, { name: liveQueue });
  const onError = (error: unknown) => ctx.log(`subscriber error: ${String(error)}`);

  // A cursor, as a subscriber that then went away holds it.
  let cursor: string | null = null;
  const leaving = await openLightSubscriber(
    ctx.gateway.wsUrl,
    ctx.token,
    DOCS.jobEventsAfter,
    { queue },
    (data) => {
      cursor ??= (data as unknown as EventsData).jobEvents.cursor;
    },
    onError,
  );
  for (let attempt = 0; cursor === null && attempt < 50; attempt++) {
    await execute(publisher, DOCS.sendJob, { queue, data: jobData(-1) });
    await waitFor(() => cursor !== null, 200);
  }
  leaving.close();
  if (cursor === null) throw new Error('no event reached the first subscriber');

  ctx.log(`events replay: a backlog of ${backlog.toLocaleString('en')} events`);
  for (let sent = 0; sent < backlog; sent += BATCH) {
    const jobs = Array.from({ length: Math.min(BATCH, backlog - sent) }, (_, i) => ({ data: jobData(sent + i) }));
    await execute(publisher, DOCS.sendJobs, { queue, jobs });
  }

  // Live traffic and its own subscriber, on throughout the replay.
  let liveBegan = 0;
  const liveLatency: number[] = [];
  const live = await openLightSubscriber(
    ctx.gateway.wsUrl,
    ctx.token,
    DOCS.jobEventsAfter,
    { queue: liveQueue },
    () => {
      if (liveBegan) liveLatency.push(performance.now() - liveBegan);
      liveBegan = 0;
    },
    onError,
  );
  let replaying = true;
  const liveTraffic = (async () => {
    for (let n = 0; replaying; n++) {
      liveBegan = performance.now();
      await execute(publisher, DOCS.sendJob, { queue: liveQueue, data: jobData(n) });
      await sleep(LIVE_EVERY_MS);
    }
  })();
  await sleep(200);
  liveLatency.length = 0;

  let received = 0;
  let duplicates = 0;
  const seen = new Set<string>();
  const before = ctx.cpu();
  const began = performance.now();
  const resuming = await openLightSubscriber(
    ctx.gateway.wsUrl,
    ctx.token,
    DOCS.jobEventsAfter,
    { queue, after: cursor },
    (data) => {
      const { jobId } = (data as unknown as EventsData).jobEvents;
      if (seen.has(jobId)) duplicates++;
      seen.add(jobId);
      received++;
    },
    onError,
  );
  const complete = await waitFor(() => received >= backlog, 120_000, 5);
  const seconds = (performance.now() - began) / 1000;
  const cpu = cpuUse(before, ctx.cpu());
  replaying = false;
  await liveTraffic;
  resuming.close();
  live.close();
  await publisher.dispose();
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${queue}`, `${ctx.tenantId}/${liveQueue}`]);
  if (!complete) throw new Error(`the resuming subscriber received ${received} of ${backlog} events in 120 s`);

  const rate = received / seconds;
  const latency = summarize(liveLatency);
  return {
    id: 'events-replay',
    title: `events replay (a resuming subscriber, ${backlog.toLocaleString('en')} events behind, live traffic on)`,
    metrics: [
      metric('replay', 'events/s', null, Math.round(rate), '', null),
      metric('live event p50 meanwhile', 'ms', null, round(latency.p50), '', null),
      metric('live event p99 meanwhile', 'ms', null, round(latency.p99), 'p99 ≤ 50 ms', latency.p99 <= 50 && duplicates === 0),
    ],
    details: { backlog, received, duplicates, seconds, live: latency, cpu },
    notes: [
      ...(duplicates ? [`${duplicates} events arrived twice`] : []),
      `${loadNote([['', cpu]])}; ${liveLatency.length} live events during the replay, one sent every ${LIVE_EVERY_MS} ms`,
    ],
  };
}
