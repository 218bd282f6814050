import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { openLightSubscriber, type LightSubscriber } from '../light-subscriber.ts';
import { cpuUse, loadNote } from '../machine.ts';
import { inParallel, round, sleep, summarize, waitFor } from '../stats.ts';
import { connect, execute } from '../ws-client.ts';

interface Round {
  began: number;
  received: number[];
}

/** Subscribers on their own graphql-ws connections, each with one `jobEvents` subscription to a queue. */
export async function openSubscribers(
  ctx: BenchContext,
  url: string,
  count: number,
  queue: string,
  onEvent: () => void,
  parallel = 50,
): Promise<LightSubscriber[]> {
  const subscribers: LightSubscriber[] = [];
  await inParallel(count, parallel, async () => {
    subscribers.push(
      await openLightSubscriber(url, ctx.token, DOCS.jobEvents, { queue, types: ['CREATED'] }, onEvent, (error) =>
        ctx.log(`subscriber error: ${String(error)}`),
      ),
    );
  });
  return subscribers;
}

/** The p99 target: 50 ms to 1,000 subscribers, 100 ms to 10,000 (--full). */
const targetP99Ms = (subscribers: number): number => (subscribers >= 10_000 ? 100 : 50);

/** One job event delivered to 1,000 subscribers (10,000 with --full): delivery time from the `sendJob` call to each subscriber. */
export async function eventsFanout(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const queue = ctx.queueName('fanout');
  const publisher = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(publisher, DOCS.createQueue, { name: queue });
  let current: Round = { began: 0, received: [] };
  ctx.log(`events fan-out: opening ${options.fanoutSubscribers} subscribers`);
  const clients = await openSubscribers(ctx, ctx.gateway.wsUrl, options.fanoutSubscribers, queue, () => {
    current.received.push(performance.now() - current.began);
  });
  const publish = async (n: number): Promise<Round> => {
    current = { began: performance.now(), received: [] };
    await execute(publisher, DOCS.sendJob, { queue, data: jobData(n) });
    await waitFor(() => current.received.length >= options.fanoutSubscribers, 10_000, 2);
    return current;
  };
  // Subscriptions start asynchronously: warm up until one event reaches everyone.
  let ready = false;
  for (let attempt = 0; attempt < 10 && !ready; attempt++) ready = (await publish(-1 - attempt)).received.length === options.fanoutSubscribers;
  if (!ready) throw new Error('not every subscriber received the warm-up event');

  ctx.log(`events fan-out: ${options.fanoutEvents} events × ${options.fanoutSubscribers} subscribers`);
  const before = ctx.cpu();
  const deliveries: number[] = [];
  const lastDelivery: number[] = [];
  let lost = 0;
  for (let n = 0; n < options.fanoutEvents; n++) {
    const round = await publish(n);
    deliveries.push(...round.received);
    lastDelivery.push(Math.max(...round.received));
    lost += options.fanoutSubscribers - round.received.length;
    await sleep(50);
  }
  const cpu = cpuUse(before, ctx.cpu());
  for (const client of clients) client.close();
  await publisher.dispose();
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${queue}`]);

  const all = summarize(deliveries);
  const last = summarize(lastDelivery);
  return {
    id: 'events-fanout',
    title: `events fan-out (1 event → ${options.fanoutSubscribers.toLocaleString('en')} subscribers)`,
    metrics: [
      metric('delivery p50', 'ms', null, round(all.p50), '', null),
      metric(
        'delivery p99',
        'ms',
        null,
        round(all.p99),
        `p99 ≤ ${targetP99Ms(options.fanoutSubscribers)} ms`,
        all.p99 <= targetP99Ms(options.fanoutSubscribers) && lost === 0,
      ),
      metric('last subscriber p50', 'ms', null, round(last.p50), '', null),
    ],
    details: { deliveries: all, lastDelivery: last, lost, events: options.fanoutEvents, subscribers: options.fanoutSubscribers, cpu },
    notes: [
      ...(lost ? [`${lost} deliveries missing after 10 s`] : []),
      `${loadNote([['', cpu]])}; CPU per delivery: gateway ${round((cpu.gateway / Math.max(1, deliveries.length)) * 1e6, 1)} µs, subscribers ${round((cpu.bench / Math.max(1, deliveries.length)) * 1e6, 1)} µs`,
    ],
  };
}
