// Run by test/e2e/client-package.test.ts inside a fresh project that installed the
// @jobgate/client tarball: plain JavaScript, as a user of the package writes it.
import { createProducer, createWorker, JobgateError } from '@jobgate/client';

const { JOBGATE_HTTP_URL: httpUrl, JOBGATE_WS_URL: wsUrl, JOBGATE_TOKEN: token, QUEUE: queue } = process.env;
const COUNT = 5;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const handled = {};
const worker = createWorker({
  url: wsUrl,
  token,
  queues: [queue],
  concurrency: 2,
  handler: (job) => {
    handled[job.data.n] = (handled[job.data.n] ?? 0) + 1;
    return { doubled: job.data.n * 2 };
  },
  onError: (error) => console.error('worker error:', error),
});
worker.done.catch((error) => {
  console.error('worker stopped:', error);
  process.exit(1);
});

// The worker comes first: wait until the gateway lists its subscription (which created the queue).
await until('the worker to subscribe', async () => {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'query($queue: String) { workers(queue: $queue) { id } }', variables: { queue } }),
  });
  const { data } = await response.json();
  return data?.workers?.length === 1;
});

const producer = createProducer({ url: httpUrl, token });
const sent = [];
for (let n = 0; n < COUNT; n++) sent.push(await producer.send(queue, { n }));
for (const job of sent) await until(`job ${job.id} to complete`, async () => (await producer.getJob(queue, job.id))?.state === 'COMPLETED');

let refused;
try {
  await producer.send('not a queue name!', { n: -1 });
} catch (error) {
  refused = { isJobgateError: error instanceof JobgateError, code: error.code };
}

await worker.stop();
console.log(JSON.stringify({ sent, handled, refused }));
