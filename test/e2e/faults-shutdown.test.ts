/**
 * Fault: SIGTERM while clients are busy. The gateway process must finish
 * what it accepted (no sendJob answered with an id is lost), close worker
 * sockets with 1001 and fail their held jobs back (not lose them), and exit 0
 * without waiting out its grace period because clients keep their connections busy.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createWorker, type Worker } from '@jobgate/client';
import pg from 'pg';
import { gqlData } from '../support/clients.ts';
import { testDatabaseUrl } from '../support/gateway.ts';
import {
  cleanupProcesses,
  createTenantIn,
  recordingWebSocket,
  spawnGateway,
  stopWithin,
  waitUntil,
  type GatewayProcess,
  type SocketLog,
} from '../support/processes.ts';

const SEND = 'mutation($queue: String!, $data: JSON!) { sendJob(queue: $queue, data: $data) { id } }';
const IN_FLIGHT = 16;

let sql: pg.Client;
let tenant: { tenantId: string; token: string };
const workers: Worker[] = [];

beforeAll(async () => {
  tenant = await createTenantIn(testDatabaseUrl());
  sql = new pg.Client({ connectionString: testDatabaseUrl() });
  await sql.connect();
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => stopWithin(() => worker.stop())));
  await cleanupProcesses();
  await sql.end();
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

it('SIGTERM under load: every acknowledged sendJob is stored, workers see 1001 and their held job is failed back, exit code 0', async () => {
  const gateway: GatewayProcess = await spawnGateway({ databaseUrl: testDatabaseUrl(), env: { JOBGATE_SHUTDOWN_GRACE_SECONDS: '20' } });
  const create = 'mutation($name: String!, $options: QueueOptionsInput) { createQueue(name: $name, options: $options) { name } }';
  await gqlData(gateway.graphqlUrl, tenant.token, create, { name: 'load' });
  await gqlData(gateway.graphqlUrl, tenant.token, create, { name: 'held', options: { retryLimit: 2, retryDelay: 0 } });

  // A worker holding a job whose first attempt never finishes on its own.
  const sockets: SocketLog = { opened: 0, closes: [] };
  const attempts: { id: string; retryCount: number }[] = [];
  let releaseFirst: () => void = () => {};
  const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
  const lateErrors: unknown[] = [];
  const worker = createWorker({
    url: gateway.wsUrl,
    token: tenant.token,
    queues: ['held'],
    reconnect: { minDelayMs: 100, maxDelayMs: 400 },
    webSocketImpl: recordingWebSocket(sockets),
    handler: async (job) => {
      attempts.push({ id: job.id, retryCount: job.retryCount });
      if (attempts.length === 1) {
        await firstReleased;
        return { attempt: 'first' };
      }
      return { attempt: 'again' };
    },
    onError: (error) => lateErrors.push(error),
  });
  workers.push(worker);
  const { sendJob: heldJob } = await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, tenant.token, SEND, { queue: 'held', data: { held: true } });
  await waitUntil('the worker to hold its job', () => attempts.length === 1, 10_000);

  // Load, then SIGTERM in the middle of it.
  let successes = 0;
  let exited = false;
  void gateway.exited.then(() => (exited = true));
  const load = fireSends(gateway.graphqlUrl, 'load', () => exited, () => successes++);
  await waitUntil('the load to get going', () => successes >= 100, 20_000);
  gateway.signal('SIGTERM');
  const signalledAt = Date.now();
  const exit = await gateway.exited;
  // Busy keep-alive connections must not hold the stop until the 20 s grace runs out.
  const stopSeconds = (Date.now() - signalledAt) / 1000;
  const { acknowledged, failures } = await load;
  expect({ exit, output: exit.code === 0 ? '' : gateway.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
  expect(acknowledged.length).toBeGreaterThanOrEqual(100);
  expect(stopSeconds).toBeLessThan(10);

  // No acknowledged mutation lost: each id is in pgboss.job with the data it was sent with.
  const { rows } = await sql.query<{ id: string; n: number }>(
    "SELECT id, (data->>'n')::int AS n FROM pgboss.job WHERE name = $1",
    [`${tenant.tenantId}/load`],
  );
  const stored = new Map(rows.map((row) => [row.id, row.n]));
  const missing = acknowledged.filter((sent) => stored.get(sent.id) !== sent.n);
  expect(missing).toEqual([]);
  expect(rows.length).toBeGreaterThanOrEqual(acknowledged.length);
  expect(rows.length).toBeLessThanOrEqual(acknowledged.length + failures);

  // The worker's socket was closed with 1001 (going away) and its job went back to the queue.
  expect(sockets.closes[0]).toBe(1001);
  const { rows: held } = await sql.query<{ state: string; output: { message?: string } | null }>('SELECT state, output FROM pgboss.job WHERE id = $1', [heldJob.id]);
  expect(held[0]?.state).toBe('retry');
  expect(held[0]?.output?.message).toMatch(/worker disconnected/);

  // Not lost: a gateway on the same port takes over, the worker reconnects and works it again.
  await spawnGateway({ databaseUrl: testDatabaseUrl(), port: gateway.port });
  await waitUntil('the failed-back job to be completed on the next attempt', async () => {
    const { rows } = await sql.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [heldJob.id]);
    return rows[0]?.state === 'completed';
  }, 20_000);
  expect(attempts.map((attempt) => attempt.id)).toEqual([heldJob.id, heldJob.id]);
  expect(attempts[1]!.retryCount).toBe(1);
  releaseFirst();
  await waitUntil('the stale first attempt to be refused', () => lateErrors.length > 0, 10_000);
  expect((lateErrors[0] as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  const { rows: done } = await sql.query<{ state: string; output: unknown }>('SELECT state, output FROM pgboss.job WHERE id = $1', [heldJob.id]);
  expect(done[0]).toEqual({ state: 'completed', output: { attempt: 'again' } });
}, 60_000);
