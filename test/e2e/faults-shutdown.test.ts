/**
 * Fault: SIGTERM while clients are busy. The gateway must drain: `/ready`
 * false and no new connections at once, nothing new pushed, the jobs its
 * workers hold settled within JOBGATE_SHUTDOWN_GRACE_SECONDS, whatever is
 * left put back in the queue without using a retry, sockets closed with 1001,
 * every acknowledged sendJob stored, exit code 0, and no waiting out the grace
 * once nothing is held (busy keep-alive connections do not hold it up).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { gqlData, httpGraphql } from '../support/clients.ts';
import { testDatabaseUrl, useTestClient } from '../support/gateway.ts';
import { CREATE_QUEUE, SEND_JOBS } from '../support/operations.ts';
import { cleanupProcesses, createTenantIn, readyStatus, spawnGateway, waitUntil, type GatewayProcess } from '../support/processes.ts';
import { startRawWorker, type RawWorker } from '../support/traffic.ts';

const SEND = 'mutation($queue: String!, $data: JSON!) { sendJob(queue: $queue, data: $data) { id } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!, $lease: String) { completeJob(queue: $queue, id: $id, lease: $lease) { id } }';
const IN_FLIGHT = 16;

const sql = useTestClient();
let tenant: { tenantId: string; token: string };
const workers: RawWorker[] = [];

beforeAll(async () => {
  tenant = await createTenantIn(testDatabaseUrl());
});

afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.dispose()));
  await cleanupProcesses();
}, 60_000);

interface Sent {
  id: string;
  n: number;
}

/** `IN_FLIGHT` concurrent loops of sendJob over HTTP until `until()` holds; returns what was acknowledged. */
async function fireSends(url: string, queue: string, until: () => boolean, onSuccess: () => void): Promise<{ acknowledged: Sent[]; failures: number }> {
  const acknowledged: Sent[] = [];
  let failures = 0;
  let next = 0;
  const loop = async () => {
    while (!until()) {
      const n = next++;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` },
          body: JSON.stringify({ query: SEND, variables: { queue, data: { n } } }),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await response.json()) as { data?: { sendJob?: { id: string } | null }; errors?: unknown[] };
        const id = body.data?.sendJob?.id;
        if (response.status === 200 && id && !body.errors) {
          acknowledged.push({ id, n });
          onSuccess();
        } else failures++;
      } catch {
        // Refused or reset while the gateway goes away: not acknowledged, so it may or may not exist.
        failures++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  return { acknowledged, failures };
}

async function job(id: string): Promise<{ state: string; retry_count: number; started_on: Date | null; output: unknown }> {
  const { rows } = await sql.query('SELECT state, retry_count, started_on, output FROM pgboss.job WHERE id = $1', [id]);
  return rows[0];
}

it('SIGTERM with 30 short jobs held, under load: each runs exactly once, nothing new is pushed, every acknowledged send is stored, exit 0 well within the grace', async () => {
  const gateway: GatewayProcess = await spawnGateway({ databaseUrl: testDatabaseUrl(), env: { JOBGATE_SHUTDOWN_GRACE_SECONDS: '10' } });
  await gqlData(gateway.graphqlUrl, tenant.token, CREATE_QUEUE, { name: 'load' });
  await gqlData(gateway.graphqlUrl, tenant.token, CREATE_QUEUE, { name: 'short', options: { retryLimit: 2, retryDelay: 0 } });
  const shortWorkers = Array.from({ length: 3 }, () =>
    startRawWorker({ wsUrl: gateway.wsUrl, token: tenant.token, queue: 'short', concurrency: 10, workMs: 300 }),
  );
  workers.push(...shortWorkers);
  await waitUntil('the workers to subscribe', async () => {
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_session WHERE tenant_id = $1', [tenant.tenantId]);
    return rows[0]!.n === 3;
  });

  let successes = 0;
  let exited = false;
  void gateway.exited.then(() => (exited = true));
  const load = fireSends(
    gateway.graphqlUrl,
    'load',
    () => exited,
    () => successes++,
  );
  await waitUntil('the load to get going', () => successes >= 100, 20_000);

  // 40 short jobs: 30 are held (3 × 10), 10 wait; SIGTERM as soon as the 30 are in the workers' hands.
  const { sendJobs: shortIds } = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, tenant.token, SEND_JOBS, {
    queue: 'short',
    jobs: Array.from({ length: 40 }, (_, n) => ({ data: { n } })),
  });
  const pushes = () => shortWorkers.flatMap((worker) => worker.pushes);
  await waitUntil('30 short jobs to be held', () => pushes().length === 30, 10_000, 5);
  gateway.signal('SIGTERM');
  const signalledAt = Date.now();
  await waitUntil('/ready to turn false at once', async () => (await readyStatus(gateway.url, 500)) !== 200, 1_000, 20);
  const exit = await gateway.exited;
  const stopMs = Date.now() - signalledAt;
  const { acknowledged, failures } = await load;
  expect({ exit, output: exit.code === 0 ? '' : gateway.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
  console.log(
    `SIGTERM with 30 jobs of 300 ms held: exit after ${stopMs} ms (grace 10 s); ${acknowledged.length} sends acknowledged, ${failures} refused or cut`,
  );
  // It waited for the held jobs, and not for the grace (busy keep-alive connections do not hold it up).
  expect(stopMs).toBeGreaterThanOrEqual(200);
  expect(stopMs).toBeLessThan(5_000);

  // Each held job ran exactly once and its completion was accepted; nothing else was pushed.
  const completed = new Map<string, number>();
  for (const worker of shortWorkers) {
    for (const [id, count] of worker.completed) completed.set(id, (completed.get(id) ?? 0) + count);
    expect(worker.conflicts).toEqual([]);
    expect([...worker.retriedCodes]).toEqual([]);
    expect(worker.sockets.closes).toEqual([1001]);
  }
  expect(pushes()).toHaveLength(30);
  expect(new Set(pushes().map((push) => push.id)).size).toBe(30);
  expect([...completed.values()]).toEqual(Array(30).fill(1));
  const { rows: shortRows } = await sql.query<{ state: string; n: number }>(
    'SELECT state, retry_count, count(*)::int AS n FROM pgboss.job WHERE name = $1 AND id = ANY($2::uuid[]) GROUP BY state, retry_count ORDER BY state',
    [`${tenant.tenantId}/short`, shortIds],
  );
  expect(shortRows).toEqual([
    { state: 'created', retry_count: 0, n: 10 },
    { state: 'completed', retry_count: 0, n: 30 },
  ]);

  // No acknowledged mutation lost: each id is in pgboss.job with the data it was sent with.
  expect(acknowledged.length).toBeGreaterThanOrEqual(100);
  const { rows } = await sql.query<{ id: string; n: number }>("SELECT id, (data->>'n')::int AS n FROM pgboss.job WHERE name = $1", [`${tenant.tenantId}/load`]);
  const stored = new Map(rows.map((row) => [row.id, row.n]));
  expect(acknowledged.filter((sent) => stored.get(sent.id) !== sent.n)).toEqual([]);
  expect(rows.length).toBeGreaterThanOrEqual(acknowledged.length);
  expect(rows.length).toBeLessThanOrEqual(acknowledged.length + failures);
}, 90_000);

it('SIGTERM with a job held past the grace: it is put back with its retry count unchanged (not failed, though it has no retry left) and runs again elsewhere', async () => {
  const gateway = await spawnGateway({ databaseUrl: testDatabaseUrl(), env: { JOBGATE_SHUTDOWN_GRACE_SECONDS: '3' } });
  // No retry left: a fail-back that used one would fail the job for good.
  await gqlData(gateway.graphqlUrl, tenant.token, CREATE_QUEUE, { name: 'long', options: { retryLimit: 0 } });
  const first = startRawWorker({ wsUrl: gateway.wsUrl, token: tenant.token, queue: 'long', concurrency: 1, workMs: 'hold' });
  workers.push(first);
  const { sendJob } = await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, tenant.token, SEND, { queue: 'long', data: { long: true } });
  await waitUntil('the worker to hold the long job', () => first.pushes.length === 1, 10_000);

  gateway.signal('SIGTERM');
  const signalledAt = Date.now();
  const exit = await gateway.exited;
  const stopMs = Date.now() - signalledAt;
  console.log(`SIGTERM with a job held past the grace (3 s): exit after ${stopMs} ms`);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(stopMs).toBeGreaterThanOrEqual(3_000);
  expect(stopMs).toBeLessThan(6_000);
  expect(first.sockets.closes).toEqual([1001]);
  expect(await job(sendJob.id)).toMatchObject({ state: 'created', retry_count: 0, started_on: null });

  // Another gateway takes over: the job runs again at the same retry count and completes; the first attempt's lease is stale.
  const next = await spawnGateway({ databaseUrl: testDatabaseUrl() });
  const second = startRawWorker({ wsUrl: next.wsUrl, token: tenant.token, queue: 'long', concurrency: 1, workMs: 'hold' });
  workers.push(second);
  await waitUntil('the job to be pushed again', () => second.pushes.length === 1, 10_000);
  expect(second.pushes[0]).toMatchObject({ id: sendJob.id, retryCount: 0 });
  const stale = await httpGraphql(next.graphqlUrl, tenant.token, COMPLETE, { queue: 'long', id: sendJob.id, lease: first.pushes[0]!.lease });
  expect(stale.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  second.release();
  await waitUntil("the job's completion to be acknowledged", () => second.completed.has(sendJob.id), 10_000);
  expect(await job(sendJob.id)).toMatchObject({ state: 'completed', retry_count: 0 });
  expect(second.completed.get(sendJob.id)).toBe(1);
}, 60_000);

it('SIGTERM to `npm start` (PID 1 of a container started with it) stops the gateway, not only npm', async () => {
  const gateway = await spawnGateway({ databaseUrl: testDatabaseUrl(), npmStart: true });
  gateway.signal('SIGTERM');
  const exit = await Promise.race([gateway.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 20_000))]);
  // npm ends as its script did, or with the signal it forwarded (its own way of saying so).
  expect(exit).not.toBe('running');
  // npm is gone; so is the gateway it ran, which drained first.
  expect(await readyStatus(gateway.url)).toBe(0);
  expect(gateway.output()).not.toMatch(/"level":50/);
}, 40_000);
