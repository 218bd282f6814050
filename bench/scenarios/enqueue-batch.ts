import type { BenchContext, ScenarioResult } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { missingPeerNotes } from '../peers/peer.ts';
import { connect, execute } from '../ws-client.ts';
import { alternate } from './alternate.ts';
import { peerCalls } from './peer-calls.ts';
import { throughputMetrics } from './throughput-report.ts';

const BATCH = 1_000;

/** `insert` 1,000 jobs per call vs `sendJobs` 1,000 per mutation over one graphql-ws connection; the peers' batch add beside. */
export async function enqueueBatch(ctx: BenchContext): Promise<ScenarioResult> {
  const { options, raw } = ctx;
  const lanes = options.batchInFlight;
  const rawQueue = ctx.queueName('raw-batch');
  const gwQueue = ctx.queueName('gw-batch');
  let n = 0;
  const batch = () => Array.from({ length: BATCH }, () => ({ data: jobData(n++) }));

  await raw.createQueue(rawQueue);
  const client = await connect(ctx.gateway.wsUrl, ctx.token);
  await execute(client, DOCS.createQueue, { name: gwQueue });
  const peers = peerCalls(ctx, 'batch', async (peer, queue) => {
    await peer.addBatch(
      queue,
      Array.from({ length: BATCH }, () => jobData(n++)),
    );
    return BATCH;
  });
  ctx.log(`insert vs sendJobs vs peers: ${options.enqueueSeconds}s each in ${options.rounds} alternating slices, ${lanes} in flight`);
  const sides = await alternate(
    ctx,
    lanes,
    async () => {
      await raw.insert(rawQueue, batch());
      return BATCH;
    },
    async () => {
      const { sendJobs } = await execute<{ sendJobs: string[] }>(client, DOCS.sendJobs, { queue: gwQueue, jobs: batch() });
      if (sendJobs.length !== BATCH) throw new Error(`sendJobs returned ${sendJobs.length} ids`);
      return BATCH;
    },
    peers.calls,
  );
  await client.dispose();
  await peers.clear();
  await deleteJobs(ctx.pool, options.rawSchema, [rawQueue]);
  await deleteJobs(ctx.pool, ctx.gatewaySchema, [`${ctx.tenantId}/${gwQueue}`]);
  const { metrics, details, notes } = throughputMetrics(sides.raw, sides.gateway, 0.9, sides.peers);
  return {
    id: 'enqueue-batch',
    title: `enqueue, batch (1,000 per call, ${lanes} in flight)`,
    metrics,
    details,
    notes: [...notes, ...missingPeerNotes(ctx.peers)],
  };
}
