import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import type { GatewayProcess } from '../gateway-process.ts';
import { round, sleep, summarize, throughput, waitFor } from '../stats.ts';
import { connect, execute } from '../ws-client.ts';
import { openSubscribers } from './events-fanout.ts';
import { gatewayLoop, median } from './full-loop.ts';

const INSTANCES = 3;

/**
 * Three gateway instances on one PostgreSQL, as a deployment runs them: the
 * full loop with its 4 workers spread over the three (jobs sent through one),
 * against the same loop on one instance in the same run; and one event to
 * subscribers spread over the three, each instance reading the log itself.
 */
export async function multiInstance(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const others: GatewayProcess[] = [];
  try {
    for (let n = 1; n < INSTANCES; n++) others.push(await ctx.spawnGateway(`instance-${n + 1}`));
    const urls = [ctx.gateway.wsUrl, ...others.map((gateway) => gateway.wsUrl)];

    const one: number[] = [];
    const three: number[] = [];
    for (let run = 0; run < options.loopRuns; run++) {
      const order = run % 2 === 0 ? ([1, 3] as const) : ([3, 1] as const);
      for (const instances of order) {
        ctx.log(`multi-instance loop run ${run + 1}/${options.loopRuns}: workers on ${instances} instance(s), ${options.loopJobs} jobs`);
        const result = await gatewayLoop(ctx, 100 + run * 2 + (instances === 3 ? 1 : 0), instances === 3 ? urls : [ctx.gateway.wsUrl]);
        (instances === 3 ? three : one).push(result.elapsed);
      }
    }
    const oneRate = throughput(options.loopJobs, median(one)).perSecond;
    const threeRate = throughput(options.loopJobs, median(three)).perSecond;

    // Fan-out: a third of the subscribers on each instance, the event sent through the first.
    const queue = ctx.queueName('multi-fanout');
    const publisher = await connect(ctx.gateway.wsUrl, ctx.token);
    await execute(publisher, DOCS.createQueue, { name: queue });
    let began = 0;
    let received: number[] = [];
    const perInstance = Math.ceil(options.fanoutSubscribers / INSTANCES);
    const subscribers = (
      await Promise.all(urls.map((url) => openSubscribers(ctx, url, perInstance, queue, () => received.push(performance.now() - began))))
    ).flat();
    const total = perInstance * INSTANCES;
    const publish = async (n: number) => {
      received = [];
      began = performance.now();
      await execute(publisher, DOCS.sendJob, { queue, data: jobData(n) });
      await waitFor(() => received.length >= total, 10_000, 2);
      return received;
    };
    let ready = false;
    for (let attempt = 0; attempt < 10 && !ready; attempt++) ready = (await publish(-1 - attempt)).length === total;
    if (!ready) throw new Error('not every subscriber received the warm-up event');
    const last: number[] = [];
    const all: number[] = [];
    for (let n = 0; n < options.fanoutEvents; n++) {
      const round = await publish(n);
      all.push(...round);
      last.push(Math.max(...round));
      await sleep(50);
    }
    for (const subscriber of subscribers) subscriber.close();
    await publisher.dispose();
    await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${queue}`]);
    const deliveries = summarize(all);
    const lastDelivery = summarize(last);
    return {
      id: 'multi-instance',
      title: `${INSTANCES} gateway instances on one PostgreSQL`,
      metrics: [
        metric('full loop, workers on 1 instance', 'jobs/s', null, round(oneRate, 0), '', null),
        metric(`full loop, workers on ${INSTANCES} instances`, 'jobs/s', null, round(threeRate, 0), '', null),
        metric(`fan-out to ${total.toLocaleString('en')} over ${INSTANCES} instances, p50`, 'ms', null, round(deliveries.p50), '', null),
        metric(
          `fan-out to ${total.toLocaleString('en')} over ${INSTANCES} instances, p99`,
          'ms',
          null,
          round(deliveries.p99),
          'p99 ≤ 50 ms',
          deliveries.p99 <= 50,
        ),
      ],
      details: { one, three, deliveries, lastDelivery },
      notes: [
        `${INSTANCES} instances ÷ 1: ${round(threeRate / oneRate, 2)}× the loop's throughput (jobs sent through the first instance; medians of ${options.loopRuns} runs each, interleaved)`,
        'the other instances are separate processes whose CPU is not in the bench CPU figures',
      ],
    };
  } finally {
    await Promise.all(others.map((gateway) => gateway.stop()));
  }
}
