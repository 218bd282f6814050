// A remote worker: `JOBGATE_TOKEN=… node examples/worker.ts emails` (Node ≥ 22.18, e.g. node_modules/.bin/node).
import { createWorker } from '@jobgate/client';

const queues = process.argv.slice(2);
if (queues.length === 0) {
  console.error('usage: node examples/worker.ts <queue> [<queue> …]   (env: JOBGATE_URL, JOBGATE_TOKEN, CONCURRENCY)');
  process.exit(2);
}

const worker = createWorker<{ to?: string }>({
  url: process.env.JOBGATE_URL ?? 'ws://localhost:4000/graphql',
  token: process.env.JOBGATE_TOKEN ?? '',
  queues,
  concurrency: Number(process.env.CONCURRENCY ?? 4),
  handler: async (job) => {
    console.log(`working ${job.queue} ${job.id}`, job.data);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { handledAt: new Date().toISOString() };
  },
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void worker.stop().then(() => process.exit(0)));
}
worker.done.catch((error: unknown) => {
  console.error('worker stopped:', error);
  process.exit(1);
});
