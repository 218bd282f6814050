/**
 * Fault: a gateway process dies (kill -9) while its workers hold jobs, or
 * stops for longer than its liveness timeout (SIGSTOP) and comes back.
 * Nothing fails the jobs back from the dead process: the surviving gateway
 * sees its heartbeats stop and takes its held jobs back (a put-back, not a
 * used retry), within 30 s with the default timeout, long before pg-boss's
 * expiry (15 minutes here). Jobs whose lease was used elsewhere (detached)
 * stay with their lease. The first workers' late settlements are refused
 * (CONFLICT) whether they arrive through another gateway or through the
 * paused one; every job ends completed exactly once.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createWorker, type Worker } from '@jobgate/client';
import type { Client } from 'graphql-ws';
import { gqlData, httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, testDatabaseUrl, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { CREATE_QUEUE, SEND_JOBS } from '../support/operations.ts';
import { cleanupProcesses, recordingWebSocket, sleep, spawnGateway, stopWithin, waitUntil, type GatewayProcess, type SocketLog } from '../support/processes.ts';
import { collect } from '../support/subscriptions.ts';
import { startRawWorker, type RawWorker } from '../support/traffic.ts';

const WORK = 'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id queue retryCount lease } }';
const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId retryCount } }';
const COMPLETE =
  'mutation($queue: String!, $id: ID!, $output: JSON, $lease: String) { completeJob(queue: $queue, id: $id, output: $output, lease: $lease) { id state } }';
const TOUCH = 'mutation($queue: String!, $id: ID!, $lease: String) { touchJob(queue: $queue, id: $id, lease: $lease) { id } }';
/** The liveness timeout by default: a dead instance's jobs must be back within this. */
const BOUND_MS = 30_000;

let survivor: TestGateway;
let tenant: TestTenant;
const sql = useTestClient();
const workers: Worker[] = [];
const rawWorkers: RawWorker[] = [];
const clients: Client[] = [];
let releaseFirst: () => void = () => {};

beforeAll(async () => {
  // Default liveness settings and pg-boss's default monitor: only the heartbeat sweep brings jobs back early.
  survivor = await startGateway();
  tenant = await createTestTenant(survivor);
});

afterAll(async () => {
  releaseFirst();
  await Promise.all(workers.map((worker) => stopWithin(() => worker.stop())));
  await Promise.allSettled([...rawWorkers.map((worker) => worker.dispose()), ...clients.map(async (client) => client.dispose())]);
  await cleanupProcesses();
  await survivor.stop();
}, 60_000);

interface Row {
  id: string;
  state: string;
  retry_count: number;
  output: unknown;
}

async function rows(queue: string): Promise<Row[]> {
  const { rows } = await sql.query<Row>('SELECT id, state, retry_count, output FROM pgboss.job WHERE name = $1 ORDER BY id', [`${tenant.tenant.id}/${queue}`]);
  return rows;
}

async function sessions(): Promise<number> {
  const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_session WHERE tenant_id = $1', [tenant.tenant.id]);
  return rows[0]!.n;
}

const code = (error: unknown) => (error as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;

it('kill -9 of a gateway: the survivor takes its held jobs back within 30 s (no retry used), detached ones stay, each completes exactly once', async () => {
  const queue = 'killed';
  const doomed: GatewayProcess = await spawnGateway({ databaseUrl: testDatabaseUrl() });
  await gqlData(survivor.graphqlUrl, tenant.token, CREATE_QUEUE, { name: queue, options: { retryLimit: 3, retryDelay: 0 } });

  // Every COMPLETED event, counted per job, seen from the surviving gateway.
  const watcher = wsClient(survivor.wsUrl, { token: tenant.token });
  clients.push(watcher);
  const events = collect<{ jobEvents: { type: string; jobId: string; retryCount: number } }>(watcher, EVENTS, { queue });

  // First generation on the doomed gateway: two SDK workers (2 each) and one raw graphql-ws worker (1); handlers block.
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
        queues: [queue],
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
  const rawWork = collect<{ workAssigned: { id: string; queue: string; retryCount: number; lease: string } }>(raw, WORK, { queues: [queue], concurrency: 1 });
  await waitUntil('the first workers to subscribe', async () => (await sessions()) === 3);
  await sleep(300); // the watcher's subscription is live by now

  const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(survivor.graphqlUrl, tenant.token, SEND_JOBS, {
    queue,
    jobs: Array.from({ length: 5 }, (_, n) => ({ data: { n } })),
  });
  expect(ids).toHaveLength(5);
  const rawHeld = (await rawWork.waitFor(() => true, 10_000)).workAssigned;
  await waitUntil('the first workers to hold every job', () => firstSeen.size === 4, 10_000);
  expect((await rows(queue)).map((row) => row.state)).toEqual(Array(5).fill('active'));
  // The raw worker's lease is used on the survivor: its hold is detached, not the dead instance's to give back.
  await gqlData(survivor.graphqlUrl, tenant.token, TOUCH, { queue, id: rawHeld.id, lease: rawHeld.lease });

  // Second generation, on the surviving gateway: idle until the jobs come back.
  const secondSeen = new Map<string, number>();
  for (let n = 0; n < 2; n++) {
    workers.push(
      createWorker({
        url: survivor.wsUrl,
        token: tenant.token,
        queues: [queue],
        concurrency: 3,
        handler: (job) => {
          secondSeen.set(job.id, (secondSeen.get(job.id) ?? 0) + 1);
          return { by: 'second' };
        },
        onError: () => {},
      }),
    );
  }
  await waitUntil('the second workers to subscribe', async () => (await sessions()) === 5);

  doomed.signal('SIGKILL');
  const killedAt = Date.now();
  expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });

  const taken = ids.filter((id) => id !== rawHeld.id);
  await waitUntil(
    "the dead instance's held jobs to be completed on the survivor",
    async () => (await rows(queue)).filter((row) => taken.includes(row.id)).every((row) => row.state === 'completed'),
    BOUND_MS + 5_000,
    200,
  );
  const backMs = Date.now() - killedAt;
  console.log(`kill -9: the dead instance's 4 held jobs were completed on the survivor ${backMs} ms after the kill (bound ${BOUND_MS} ms)`);
  expect(backMs).toBeLessThan(BOUND_MS);
  for (const row of (await rows(queue)).filter((row) => taken.includes(row.id))) {
    // Put back by the gateway: the attempt did not count against the job's retries.
    expect(row).toMatchObject({ state: 'completed', output: { by: 'second' }, retry_count: 0 });
  }
  expect([...secondSeen.keys()].sort()).toEqual([...taken].sort());
  expect([...secondSeen.values()]).toEqual(Array(4).fill(1));
  // The detached job stayed active with its lease; the lease settles it.
  const { rows: detached } = await sql.query<{ state: string; detached: boolean }>(
    'SELECT j.state, l.detached FROM pgboss.job j JOIN job_lease l ON l.queue = j.name AND l.job_id = j.id WHERE j.name = $1 AND j.id = $2',
    [`${tenant.tenant.id}/${queue}`, rawHeld.id],
  );
  expect(detached).toEqual([{ state: 'active', detached: true }]);
  await gqlData(survivor.graphqlUrl, tenant.token, COMPLETE, { queue, id: rawHeld.id, output: { by: 'lease' }, lease: rawHeld.lease });

  // A new gateway comes up where the dead one was; the first workers reconnect to it and finish late.
  const revived = await spawnGateway({ databaseUrl: testDatabaseUrl(), port: doomed.port });
  await waitUntil('the first SDK workers to reconnect', () => firstSockets.every((log) => log.opened >= 2), 15_000);
  releaseFirst();
  await waitUntil('the late completions of the first workers to be answered', () => firstErrors.length === 4, 10_000);
  for (const error of firstErrors) expect(code(error)).toBe('CONFLICT');
  const late = await wsExecute(raw, COMPLETE, { queue, id: rawHeld.id, output: { by: 'first' } });
  expect(late.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect(revived.running).toBe(true);

  // Still exactly one completion each.
  await sleep(500);
  const final = await rows(queue);
  for (const row of final) expect(row).toMatchObject({ state: 'completed', output: { by: row.id === rawHeld.id ? 'lease' : 'second' } });
  const completed = events.results.filter((r) => r.data?.jobEvents.type === 'COMPLETED').map((r) => r.data!.jobEvents.jobId);
  expect(completed.sort()).toEqual([...ids].sort());
  expect([...firstSeen.values()]).toEqual([1, 1, 1, 1]);
  await revived.stop();
}, 90_000);

it('a gateway paused past its liveness timeout loses its holds: after SIGCONT its settlements get CONFLICT and nothing it remembers comes back', async () => {
  const queue = 'paused';
  // Its own row says 4 s: the survivor finds it dead 4 s after its last beat.
  const paused = await spawnGateway({ databaseUrl: testDatabaseUrl(), env: { JOBGATE_INSTANCE_DEAD_AFTER_SECONDS: '4' } });
  await gqlData(survivor.graphqlUrl, tenant.token, CREATE_QUEUE, { name: queue, options: { retryLimit: 3, retryDelay: 0 } });
  const first = startRawWorker({ wsUrl: paused.wsUrl, token: tenant.token, queue, concurrency: 3, workMs: 'hold' });
  rawWorkers.push(first);
  await waitUntil('the first worker to subscribe', async () => (await sessions()) >= 1, 10_000);
  const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(survivor.graphqlUrl, tenant.token, SEND_JOBS, {
    queue,
    jobs: Array.from({ length: 3 }, (_, n) => ({ data: { n } })),
  });
  await waitUntil("the paused gateway's worker to hold every job", () => first.pushes.length === 3, 10_000);
  const second = startRawWorker({ wsUrl: survivor.wsUrl, token: tenant.token, queue, concurrency: 3, workMs: 10 });
  rawWorkers.push(second);

  paused.signal('SIGSTOP');
  const stoppedAt = Date.now();
  try {
    await waitUntil('the held jobs to be completed on the survivor', async () => (await rows(queue)).every((row) => row.state === 'completed'), 20_000, 200);
  } finally {
    paused.signal('SIGCONT');
  }
  const backMs = Date.now() - stoppedAt;
  // Back: it notices it was found dead and forgets the holds that were taken from it.
  await waitUntil('the paused gateway to see it was found dead', () => paused.output().includes('found dead by another'), 15_000);

  // Its worker settles late, on its own socket (if the paused gateway kept it) and on the lease over HTTP.
  first.release();
  await waitUntil('the late completions to be answered', () => first.conflicts.length + first.completed.size === 3 || first.retriedCodes.size > 0, 15_000);
  for (const push of first.pushes) {
    const byLease = await httpGraphql(paused.graphqlUrl, tenant.token, COMPLETE, { queue, id: push.id, output: { by: 'first' }, lease: push.lease });
    expect(byLease.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  }
  expect(first.completed.size).toBe(0);
  console.log(
    `SIGSTOP: the paused instance's 3 jobs were completed on the survivor ${backMs} ms after the pause (its timeout 4 s); late settlements through it: ${first.conflicts.length} CONFLICT on its socket, 3 CONFLICT by lease`,
  );

  await sleep(1_000);
  for (const row of await rows(queue)) expect(row).toMatchObject({ state: 'completed', output: null, retry_count: 0 });
  expect(second.pushes.map((push) => push.id).sort()).toEqual([...ids].sort());
  // Nothing re-pushed to the first worker, no hold left behind for it.
  expect(first.pushes).toHaveLength(3);
  const { rows: leases } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM job_lease WHERE queue = $1', [`${tenant.tenant.id}/${queue}`]);
  expect(leases[0]!.n).toBe(0);
  expect(paused.running).toBe(true);
  await first.dispose();
  await paused.stop();
}, 90_000);
