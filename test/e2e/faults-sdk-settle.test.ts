/**
 * Fault: PostgreSQL is stopped for longer than a few seconds while the SDK
 * worker's handlers finish their jobs. The gateway answers every settlement
 * meanwhile with SERVICE_UNAVAILABLE; the worker retries until the lease is
 * known to be stale (expiry, heartbeat), its socket closes, or stop's timeout
 * passes, so a settlement made during an outage that ends in time lands once
 * PostgreSQL is back: every job runs once and ends completed. A worker whose
 * leases go stale, or that is stopped, during the outage gives up and says so
 * (onError) instead of retrying forever.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createProducer, createWorker, JobgateError, type Producer, type Worker } from '@jobgate/client';
import {
  cleanupProcesses,
  createTenantIn,
  readyStatus,
  sleep,
  spawnGateway,
  startPrivatePostgres,
  stopWithin,
  waitUntil,
  type GatewayProcess,
  type PrivatePostgres,
} from '../support/processes.ts';

/** Longer than the six attempts (3–6 s) the worker used to give a settlement. */
const OUTAGE_MS = 10_000;
const JOBS = 12;

let postgres: PrivatePostgres;
let gateway: GatewayProcess;
let token: string;
let producer: Producer;
const workers: Worker[] = [];

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  gateway = await spawnGateway({ databaseUrl: postgres.url, env: { JOBGATE_MIGRATE_ON_START: 'true' }, readyTimeoutMs: 60_000 });
  token = (await createTenantIn(postgres.url)).token;
  producer = createProducer({ url: gateway.graphqlUrl, token });
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => stopWithin(() => worker.stop())));
  await cleanupProcesses();
}, 60_000);

interface Reported {
  jobId: string | undefined;
  code: string | undefined;
  message: string;
}

/** An SDK worker on `queue` whose handlers wait for `gate`; counts runs by job id and keeps what onError saw. */
function gatedWorker(queue: string, gate: Promise<void>, options: { stopTimeoutMs?: number } = {}) {
  const runs = new Map<string, number>();
  const reported: Reported[] = [];
  const worker = createWorker<{ n: number; output: boolean }>({
    url: gateway.wsUrl,
    token,
    queues: [queue],
    concurrency: JOBS,
    ...options,
    handler: async (job) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      await gate;
      // Both paths: completeJob with an output, and batched completeJobs without.
      return job.data.output ? { n: job.data.n } : undefined;
    },
    onError: (error, job) =>
      reported.push({
        jobId: job?.id,
        code: error instanceof JobgateError ? error.code : undefined,
        message: error instanceof Error ? error.message : String(error),
      }),
  });
  workers.push(worker);
  return { worker, runs, reported };
}

async function sendJobs(queue: string, options: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < JOBS; n++) ids.push((await producer.send(queue, { n, output: n % 2 === 0 }, options))!.id);
  return ids;
}

async function statesOf(queue: string, ids: readonly string[]): Promise<Record<string, number>> {
  const states: Record<string, number> = {};
  for (const id of ids) {
    const state = (await producer.getJob(queue, id))?.state ?? 'missing';
    states[state] = (states[state] ?? 0) + 1;
  }
  return states;
}

/** Stops PostgreSQL and waits until the gateway noticed; returns when it went down. */
async function stopPostgres(): Promise<number> {
  await postgres.stop();
  const stoppedAt = Date.now();
  await waitUntil('/ready to turn false', async () => (await readyStatus(gateway.url)) !== 200, 10_000);
  return stoppedAt;
}

it('settlements made while PostgreSQL is down land once it is back: each job runs once and ends completed', async () => {
  const queue = 'settle-outage';
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const { runs, reported } = gatedWorker(queue, gate);
  const ids = await sendJobs(queue);
  await waitUntil('every job to be in a handler', () => runs.size === JOBS, 30_000);

  const stoppedAt = await stopPostgres();
  open(); // every handler returns now: each settlement meets the outage
  await sleep(Math.max(0, stoppedAt + OUTAGE_MS - Date.now()));
  await postgres.start();
  const upAt = Date.now();
  const outageMs = upAt - stoppedAt;
  await waitUntil('every job to be completed', async () => (await statesOf(queue, ids)).COMPLETED === JOBS, 30_000).catch(async (error: unknown) => {
    throw new Error(
      `${String(error)}\nstates ${JSON.stringify(await statesOf(queue, ids))}\nreported ${JSON.stringify(reported)}\n${gateway.output().slice(-3_000)}`,
    );
  });
  const completedMs = Date.now() - upAt;
  // A job whose settlement was lost would be failed back and pushed again: give it the time to show.
  await sleep(2_000);

  console.log(
    `SDK settlements through a PostgreSQL stop: outage ${outageMs} ms, all ${JOBS} completed ${completedMs} ms after PostgreSQL was up (polled via getJob), runs ${JSON.stringify([...runs.values()])}, onError ${reported.length}`,
  );
  expect([...runs.values()].filter((count) => count !== 1)).toEqual([]);
  expect(runs.size).toBe(JOBS);
  expect(reported).toEqual([]);
  expect(await statesOf(queue, ids)).toEqual({ COMPLETED: JOBS });
  expect(outageMs).toBeGreaterThanOrEqual(OUTAGE_MS);
}, 120_000);

it('a worker gives up a settlement, and reports it, once the lease is stale or stop times out while PostgreSQL is down', async () => {
  // A short expiry (a send option) and a short stop timeout, so that both bounds fall inside one outage.
  const EXPIRE_SECONDS = 5;
  const STOP_TIMEOUT_MS = 2_000;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const expiring = gatedWorker('settle-expiring', gate);
  const stopped = gatedWorker('settle-stopped', gate, { stopTimeoutMs: STOP_TIMEOUT_MS });
  await sendJobs('settle-expiring', { expireInSeconds: EXPIRE_SECONDS });
  await sendJobs('settle-stopped');
  await waitUntil('every job to be in a handler', () => expiring.runs.size === JOBS && stopped.runs.size === JOBS, 30_000);
  const receivedBy = Date.now();

  const stoppedAt = await stopPostgres();
  open();
  const stopStarted = Date.now();
  await stopped.worker.stop();
  const stopMs = Date.now() - stopStarted;
  await waitUntil('the expiring jobs to be given up', () => new Set(expiring.reported.map((report) => report.jobId)).size > JOBS / 2, 30_000);
  const gaveUpMs = Date.now() - receivedBy;
  await postgres.start();
  const outageMs = Date.now() - stoppedAt;
  await waitUntil('/ready to turn true', async () => (await readyStatus(gateway.url)) === 200, 30_000);

  console.log(
    `SDK settlements given up during a PostgreSQL stop of ${outageMs} ms: stop() with stopTimeoutMs ${STOP_TIMEOUT_MS} took ${stopMs} ms (${stopped.reported.length} reported); ` +
      `jobs with expireInSeconds ${EXPIRE_SECONDS} given up ${gaveUpMs} ms after they were all received (${expiring.reported.length} reported)`,
  );
  // One report per job completed with an output, one per batch of the others; all of the outage (or, should
  // pg-boss's monitor have expired a job just before it began, CONFLICT).
  for (const { reported } of [stopped, expiring]) {
    expect(reported.filter((report) => report.jobId !== undefined)).toHaveLength(JOBS / 2);
    expect(reported.length).toBeGreaterThan(JOBS / 2);
    expect(reported.filter((report) => report.code !== 'SERVICE_UNAVAILABLE' && report.code !== 'CONFLICT')).toEqual([]);
  }
  expect(stopMs).toBeLessThan(STOP_TIMEOUT_MS + 6_000);
  expect(gaveUpMs).toBeLessThan(EXPIRE_SECONDS * 1000 + 6_000);
}, 120_000);
