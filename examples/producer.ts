// Sends jobs: `JOBGATE_TOKEN=… node examples/producer.ts emails 10` (Node ≥ 22.18, e.g. node_modules/.bin/node).
import { createProducer, JobgateError } from '@jobgate/client';

const [queue, count = '1'] = process.argv.slice(2);
if (!queue) {
  console.error('usage: node examples/producer.ts <queue> [<count>]   (env: JOBGATE_HTTP_URL, JOBGATE_TOKEN)');
  process.exit(2);
}

const producer = createProducer({
  url: process.env.JOBGATE_HTTP_URL ?? 'http://localhost:4000/graphql',
  token: process.env.JOBGATE_TOKEN ?? '',
});

try {
  const ids = await producer.sendMany(
    queue,
    Array.from({ length: Number(count) }, (_, n) => ({ data: { to: `user${n}@example.com` } })),
  );
  console.log(`sent ${ids.length} job(s) to ${queue}:`, ids);
} catch (error) {
  if (!(error instanceof JobgateError)) throw error;
  console.error(`refused (${error.code ?? `HTTP ${error.status}`}): ${error.message}`);
  process.exit(1);
}
