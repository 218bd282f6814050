/**
 * The gateway behind PgBouncer (Debian's `pgbouncer`, run here on a free port
 * with a stock `ignore_startup_parameters = extra_float_digits`, in front of a
 * private PostgreSQL). In session mode DATABASE_URL alone points at the
 * pooler; in transaction mode DATABASE_DIRECT_URL reaches PostgreSQL for the
 * LISTEN connection and migrations. Either way the gateway starts, sends,
 * dispatches, settles (also by lease) and delivers events. Transaction mode
 * without a direct URL cannot carry LISTEN: the gateway must refuse to start
 * and say why, never answer /ready 200 and lose events silently.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gqlData, httpGraphql } from '../support/clients.ts';
import { SEND_JOBS } from '../support/operations.ts';
import {
  cleanupProcesses,
  findPgBouncer,
  runCli,
  spawnGateway,
  startPgBouncer,
  startPrivatePostgres,
  waitUntil,
  type GatewayProcess,
  type PgBouncer,
  type PrivatePostgres,
} from '../support/processes.ts';
import { startEventWatcher, startRawWorker, type EventWatcher, type RawWorker } from '../support/traffic.ts';

const binary = findPgBouncer();
if (!binary) console.warn('pgbouncer is not installed (apt-get install pgbouncer): the PgBouncer tests are skipped');
const describeWithPgBouncer = binary ? describe : describe.skip;

const TOUCH = 'mutation($queue: String!, $id: ID!, $lease: String) { touchJob(queue: $queue, id: $id, lease: $lease) { id } }';
const PROGRESS =
  'mutation($queue: String!, $id: ID!, $lease: String) { reportProgress(queue: $queue, id: $id, progress: { half: true }, lease: $lease) { id } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!, $lease: String) { completeJob(queue: $queue, id: $id, lease: $lease) { id state } }';

let postgres: PrivatePostgres;
let token: string;
const clients: (RawWorker | EventWatcher)[] = [];

beforeAll(async () => {
  if (!binary) return;
  postgres = await startPrivatePostgres();
  const name = `bouncer-${process.pid}`;
  // The CLI migrates and creates the tenant on the direct connection.
  await runCli(postgres.url, ['migrate']);
  await runCli(postgres.url, ['tenants', 'create', name]);
  token = (await runCli<{ token: string }>(postgres.url, ['tokens', 'issue', '--tenant', name, '--scopes', 'PUBLISH,READ,WORK'])).token;
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.dispose()));
  await cleanupProcesses();
}, 60_000);

/** Sends 200 jobs to three workers on two queues, settles some by lease over HTTP, and checks every event arrived. */
async function exercise(gateway: GatewayProcess, queue: string): Promise<string> {
  const watcher = startEventWatcher(gateway.wsUrl, token, { queue });
  const workers = Array.from({ length: 3 }, () => startRawWorker({ wsUrl: gateway.wsUrl, token, queue, concurrency: 5, workMs: 5 }));
  const byLease = startRawWorker({ wsUrl: gateway.wsUrl, token, queue: `${queue}-lease`, concurrency: 2, workMs: 'hold' });
  clients.push(watcher, ...workers, byLease);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const started = Date.now();
  const ids: string[] = [];
  for (let batch = 0; batch < 10; batch++) {
    const { sendJobs } = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, token, SEND_JOBS, {
      queue,
      jobs: Array.from({ length: 20 }, (_, n) => ({ data: { n } })),
    });
    ids.push(...sendJobs);
  }
  await waitUntil('every job to be completed by the workers', () => ids.every((id) => workers.some((worker) => worker.completed.has(id))), 30_000);
  const dispatchedMs = Date.now() - started;
  await waitUntil(
    'a COMPLETED event for every job',
    () => new Set(watcher.events.filter((event) => event.type === 'COMPLETED').map((event) => event.jobId)).size === ids.length,
    10_000,
  );
  for (const worker of workers) expect({ conflicts: worker.conflicts, retried: [...worker.retriedCodes] }).toEqual({ conflicts: [], retried: [] });

  // Pushed jobs settled from another connection with their leases (the general settle path, in transactions).
  const { sendJobs: held } = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, token, SEND_JOBS, {
    queue: `${queue}-lease`,
    jobs: [{ data: {} }, { data: {} }],
  });
  await waitUntil('the lease worker to hold its jobs', () => byLease.pushes.length === 2, 10_000);
  for (const push of byLease.pushes) {
    for (const mutation of [TOUCH, PROGRESS, COMPLETE]) {
      const { body } = await httpGraphql(gateway.graphqlUrl, token, mutation, { queue: `${queue}-lease`, id: push.id, lease: push.lease });
      expect(body.errors).toBeUndefined();
    }
  }
  expect(byLease.pushes.map((push) => push.id).sort()).toEqual([...held].sort());
  expect(gateway.running).toBe(true);
  return `200 jobs sent, pushed, completed and their events seen in ${dispatchedMs} ms; 2 settled by lease over HTTP`;
}

describeWithPgBouncer('behind PgBouncer', () => {
  let bouncer: PgBouncer;

  it('session mode, DATABASE_URL only: no refused startup parameter; starts, sends, dispatches, settles, delivers events', async () => {
    bouncer = await startPgBouncer(binary!, postgres, 'session');
    const gateway = await spawnGateway({ databaseUrl: bouncer.url });
    console.log(`PgBouncer session mode: ${await exercise(gateway, 'session')}`);
    expect(bouncer.output()).not.toMatch(/unsupported startup parameter/);
    await gateway.stop();
    await bouncer.stop();
  }, 90_000);

  it('transaction mode with DATABASE_DIRECT_URL: nothing prepared outlives a transaction; starts, sends, dispatches, settles, delivers events', async () => {
    bouncer = await startPgBouncer(binary!, postgres, 'transaction');
    const gateway = await spawnGateway({ databaseUrl: bouncer.url, env: { DATABASE_DIRECT_URL: postgres.url, JOBGATE_MIGRATE_ON_START: 'true' } });
    console.log(`PgBouncer transaction mode: ${await exercise(gateway, 'transaction')}`);
    expect(gateway.output()).not.toMatch(/prepared statement|does not exist/);
    await gateway.stop();
  }, 90_000);

  it('transaction mode without DATABASE_DIRECT_URL: the gateway refuses to start and says why', async () => {
    const error = await spawnGateway({ databaseUrl: bouncer.url, readyTimeoutMs: 30_000 }).then(
      () => undefined,
      (failure: unknown) => String(failure),
    );
    expect(error).toMatch(/exited before it was ready/);
    expect(error).toMatch(/did not reach the LISTEN connection/);
    expect(error).toMatch(/DATABASE_DIRECT_URL/);
    await bouncer.stop();
  }, 60_000);
});
