import type { BenchContext, ScenarioResult } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { missingPeerNotes } from '../peers/peer.ts';
import { connect, execute } from '../ws-client.ts';
import { alternate } from './alternate.ts';
import { peerCalls } from './peer-calls.ts';
import { throughputMetrics } from './throughput-report.ts';

const IN_FLIGHT = 64;

/** `send` with 64 calls in flight vs `sendJob` with 64 mutations in flight (one graphql-ws connection); the peers' single add beside. */
export async function enqueueSingle(ctx: BenchContext): Promise<ScenarioResult> {
  const { options, raw } = ctx;
  const rawQueue = ctx.queueName('raw-single');
  const gwQueue = ctx.queueName('gw-single');
  let n = 0;

  await raw.createQueue(rawQueue);
  const client = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(client, DOCS.createQueue, { name: gwQueue });
  const peers = peerCalls(ctx, 'single', async (peer, queue) => {
    await peer.add(queue, jobData(n++));
    return 1;
  });
  ctx.log(`send vs sendJob vs peers: ${options.enqueueSeconds}s each in ${options.rounds} alternating slices, ${IN_FLIGHT} in flight`);
  const sides = await alternate(
    ctx,
    IN_FLIGHT,
    async () => {
      if (!(await raw.send(rawQueue, jobData(n++)))) throw new Error('send returned no id');
      return 1;
    },
    async () => {
      const { sendJob } = await execute<{ sendJob: { id: string } | null }>(client, DOCS.sendJob, { queue: gwQueue, data: jobData(n++) });
      if (!sendJob) throw new Error('sendJob returned null');
      return 1;
    },
    peers.calls,
  );
  await client.dispose();
  await peers.clear();
  await deleteJobs(ctx.pool, options.rawSchema, [rawQueue]);
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${gwQueue}`]);
  const { metrics, details, notes } = throughputMetrics(sides.raw, sides.gateway, 0.8, sides.peers);
  return { id: 'enqueue-single', title: `enqueue, single (${IN_FLIGHT} in flight)`, metrics, details, notes: [...notes, ...missingPeerNotes(ctx.peers)] };
}
