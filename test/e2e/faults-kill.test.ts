/**
 * Fault: a gateway process dies (kill -9) while its workers hold jobs.
 * Nothing fails the jobs back (the process is gone): pg-boss's expiry must
 * hand them to workers on another gateway; the first workers' late
 * completions must be refused by the lease fence; every job ends completed
 * exactly once.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createWorker, type Worker } from '@jobgate/client';
import type { Client } from 'graphql-ws';
import pg from 'pg';
import { gqlData, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, testDatabaseUrl, type TestGateway, type TestTenant } from '../support/gateway.ts';
import {
  cleanupProcesses,
  recordingWebSocket,
  sleep,
  spawnGateway,
  stopWithin,
  waitUntil,
  type GatewayProcess,
  type SocketLog,
} from '../support/processes.ts';
import { collect } from '../support/subscriptions.ts';

const QUEUE = 'killed';
const WORK = 'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id queue retryCount } }';
const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId retryCount } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!, $output: JSON) { completeJob(queue: $queue, id: $id, output: $output) { id state } }';

let survivor: TestGateway;
let tenant: TestTenant;
let sql: pg.Client;
const workers: Worker[] = [];
const clients: Client[] = [];
let releaseFirst: () => void = () => {};

beforeAll(async () => {
  // The surviving gateway runs pg-boss's monitor every second, so expiry is quick.
  survivor = await startGateway({ bossMonitorIntervalSeconds: 1 });
  tenant = await createTestTenant(survivor);
  sql = new pg.Client({ connectionString: testDatabaseUrl() });
  await sql.connect();
});

afterAll(async () => {
  releaseFirst();
  await Promise.all(workers.map((worker) => stopWithin(() => worker.stop())));
  await Promise.allSettled(clients.map(async (client) => client.dispose()));
  await cleanupProcesses();
  await sql.end();
  await survivor.stop();
}, 60_000);

interface Row {
  id: string;
  state: string;
  retry_count: number;
  output: unknown;
}

async function rows(): Promise<Row[]> {
  const { rows } = await sql.query<Row>('SELECT id, state, retry_count, output FROM pgboss.job WHERE name = $1 ORDER BY id', [`${tenant.tenant.id}/${QUEUE}`]);
  return rows;
}

it('kill -9 of a gateway: its held jobs expire, are worked again on another gateway, and complete exactly once', async () => {
  const doomed: GatewayProcess = await spawnGateway({ databaseUrl: testDatabaseUrl(), env: { JOBGATE_BOSS_MONITOR_INTERVAL_SECONDS: '1' } });
  await gqlData(survivor.graphqlUrl, tenant.token, 'mutation($name: String!, $options: QueueOptionsInput) { createQueue(name: $name, options: $options) { name } }', {
    name: QUEUE,
    options: { expireInSeconds: 2, retryLimit: 3, retryDelay: 0 },
  });

  // Every COMPLETED event, counted per job, seen from the surviving gateway.
  const watcher = wsClient(survivor.wsUrl, { token: tenant.token });
  clients.push(watcher);
  const events = collect<{ jobEvents: { type: string; jobId: string; retryCount: number } }>(watcher, EVENTS, { queue: QUEUE });

  // First generation: two SDK workers (2 each) and one raw graphql-ws worker (1) on the doomed gateway; handlers block.
  const released = new Promise<void>((resolve) => (releaseFirst = resolve));
  const firstSeen = new Map<string, number>();
  const firstErrors: unknown[] = [];
  const firstSockets: SocketLog[] = [];
  for (let n = 0; n < 2; n++) {
    const log: SocketLog = { opened: 0, closes: [] };
    firstSockets.push(log);
    workers.push(
      createWorker({
        url: doomed.wsUrl,
        token: tenant.token,
        queues: [QUEUE],
        concurrency: 2,
        reconnect: { minDelayMs: 100, maxDelayMs: 400 },
        webSocketImpl: recordingWebSocket(log),
        handler: async (job) => {
          firstSeen.set(job.id, (firstSeen.get(job.id) ?? 0) + 1);
          await released;
          return { by: 'first' };
        },
        onError: (error) => firstErrors.push(error),
      }),
    );
  }
  const raw = wsClient(doomed.wsUrl, { token: tenant.token });
  clients.push(raw);
  const rawWork = collect<{ workAssigned: { id: string; queue: string; retryCount: number } }>(raw, WORK, { queues: [QUEUE], concurrency: 1 });
  await waitUntil('the first workers to subscribe', async () => {
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_session WHERE tenant_id = $1', [tenant.tenant.id]);
    return rows[0]!.n === 3;
  });
  await sleep(300); // the watcher's subscription is live by now

  const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(survivor.graphqlUrl, tenant.token, 'mutation($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }', {
    queue: QUEUE,
    jobs: Array.from({ length: 5 }, (_, n) => ({ data: { n } })),
  });
  expect(ids).toHaveLength(5);
  const rawHeld = await rawWork.waitFor(() => true, 10_000);
  await waitUntil('the first workers to hold every job', () => firstSeen.size === 4, 10_000);
  expect((await rows()).map((row) => row.state)).toEqual(Array(5).fill('active'));

  // Second generation, on the surviving gateway: idle until the jobs come back.
  const secondSeen = new Map<string, number>();
  for (let n = 0; n < 2; n++) {
    workers.push(
      createWorker({
        url: survivor.wsUrl,
        token: tenant.token,
        queues: [QUEUE],
        concurrency: 3,
        handler: (job) => {
          secondSeen.set(job.id, (secondSeen.get(job.id) ?? 0) + 1);
          return { by: 'second' };
        },
        onError: () => {},
      }),
    );
  }
  await waitUntil('the second workers to subscribe', async () => {
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_session WHERE tenant_id = $1', [tenant.tenant.id]);
    return rows[0]!.n === 5;
  });

  doomed.signal('SIGKILL');
  expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });

  // Expiry (2 s, checked every second) puts them back; the second workers get them.
  await waitUntil('every job to be completed after the crash', async () => (await rows()).every((row) => row.state === 'completed'), 30_000, 200);
  await waitUntil('a COMPLETED event for every job', () => new Set(events.results.filter((r) => r.data?.jobEvents.type === 'COMPLETED').map((r) => r.data!.jobEvents.jobId)).size === 5, 5_000);
  for (const row of await rows()) {
    expect(row).toMatchObject({ state: 'completed', output: { by: 'second' } });
    expect(row.retry_count).toBeGreaterThanOrEqual(1);
  }
  expect([...secondSeen.keys()].sort()).toEqual([...ids].sort());
  expect([...secondSeen.values()]).toEqual(Array(5).fill(1));

  // A new gateway comes up where the dead one was; the first workers reconnect to it and finish late.
  const revived = await spawnGateway({ databaseUrl: testDatabaseUrl(), port: doomed.port });
  await waitUntil('the first SDK workers to reconnect', () => firstSockets.every((log) => log.opened >= 2), 15_000);
  releaseFirst();
  await waitUntil('the late completions of the first workers to be answered', () => firstErrors.length === 4, 10_000);
  for (const error of firstErrors) {
    expect((error as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  }
  const late = await wsExecute(raw, COMPLETE, { queue: QUEUE, id: rawHeld.workAssigned.id, output: { by: 'first' } });
  expect(late.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect(revived.running).toBe(true);

  // Still exactly one completion each, by the second generation.
  await sleep(500);
  for (const row of await rows()) expect(row).toMatchObject({ state: 'completed', output: { by: 'second' } });
  const completed = events.results.filter((r) => r.data?.jobEvents.type === 'COMPLETED').map((r) => r.data!.jobEvents.jobId);
  expect(completed.sort()).toEqual([...ids].sort());
  expect([...firstSeen.values()]).toEqual([1, 1, 1, 1]);
}, 60_000);
