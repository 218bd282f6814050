import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createProducer, createWorker, JobFailure, type Worker, type WorkerJob } from '@jobgate/client';
import { gqlData } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { createQueue as createQueueAs, sendJobs } from '../support/operations.ts';
import { sleep } from '../support/subscriptions.ts';

let gateway: TestGateway;
let tenant: TestTenant;
const sql = useTestClient();
const workers: Worker[] = [];

const createQueue = (name: string, options: Record<string, unknown> = {}) => createQueueAs(gateway, tenant.token, name, options);

const sendMany = (queue: string, count: number) =>
  sendJobs(
    gateway,
    tenant.token,
    queue,
    Array.from({ length: count }, (_, n) => ({ data: { n } })),
  );

async function states(queue: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY state', [
    `${tenant.tenant.id}/${queue}`,
  ]);
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await gateway.stop();
});

describe('worker SDK', () => {
  it('completes jobs from the handler result and fails them from a throw', async () => {
    await createQueue('sdk-basic', { retryLimit: 0 });
    const seen: number[] = [];
    const worker = createWorker<{ n: number }>({
      url: gateway.wsUrl,
      token: tenant.token,
      queues: ['sdk-basic'],
      concurrency: 4,
      handler: (job) => {
        seen.push(job.data.n);
        if (job.data.n % 5 === 0) throw new JobFailure('multiple of five', { n: job.data.n });
        return job.data.n % 2 === 0 ? { double: job.data.n * 2 } : undefined;
      },
      onError: () => {},
    });
    workers.push(worker);
    await sendMany('sdk-basic', 20);
    await until(async () => {
      const s = await states('sdk-basic');
      return (s.completed ?? 0) + (s.failed ?? 0) === 20;
    });
    expect(await states('sdk-basic')).toEqual({ completed: 16, failed: 4 });
    const { rows } = await sql.query("SELECT data->>'n' AS n, output FROM pgboss.job WHERE name = $1 AND state = 'failed' ORDER BY 1", [
      `${tenant.tenant.id}/sdk-basic`,
    ]);
    expect(rows[0].output).toMatchObject({ message: 'multiple of five' });
    const doubled = await sql.query("SELECT output FROM pgboss.job WHERE name = $1 AND data->>'n' = '4'", [`${tenant.tenant.id}/sdk-basic`]);
    expect(doubled.rows[0].output).toEqual({ double: 8 });
    expect(new Set(seen).size).toBe(20);
  });

  it('starts before its queue exists: waits for work, then the first sendJob is worked and nothing fails', async () => {
    const errors: unknown[] = [];
    let worked = 0;
    const worker = createWorker({
      url: gateway.wsUrl,
      token: tenant.token,
      queues: ['sdk-worker-first'],
      handler: () => {
        worked++;
        return { ok: true };
      },
      onError: (error) => errors.push(error),
    });
    workers.push(worker);
    let stopped = false;
    void worker.done.then(
      () => (stopped = true),
      (error: unknown) => errors.push(error),
    );
    await until(async () => (await sql.query('SELECT 1 FROM pgboss.queue WHERE name = $1', [`${tenant.tenant.id}/sdk-worker-first`])).rowCount === 1);
    const { sendJob } = await gqlData<{ sendJob: { id: string } }>(
      gateway.graphqlUrl,
      tenant.token,
      'mutation { sendJob(queue: "sdk-worker-first", data: { first: true }) { id } }',
    );
    await until(async () => (await states('sdk-worker-first')).completed === 1);
    const { rows } = await sql.query('SELECT output FROM pgboss.job WHERE name = $1 AND id = $2', [`${tenant.tenant.id}/sdk-worker-first`, sendJob.id]);
    expect(rows[0].output).toEqual({ ok: true });
    expect({ worked, stopped, errors }).toEqual({ worked: 1, stopped: false, errors: [] });
  });

  it('reports progress from the handler: Job.progress reads the latest, the job completes', async () => {
    const worker = createWorker({
      url: gateway.wsUrl,
      token: tenant.token,
      queues: ['sdk-progress'],
      handler: async (_job, { progress }) => {
        await progress({ step: 1, of: 2 });
        await progress({ step: 2, of: 2 });
        return { finished: true };
      },
    });
    workers.push(worker);
    const { sendJob } = await gqlData<{ sendJob: { id: string } }>(
      gateway.graphqlUrl,
      tenant.token,
      'mutation { sendJob(queue: "sdk-progress", data: {}) { id } }',
    );
    await until(async () => (await states('sdk-progress')).completed === 1);
    const { job } = await gqlData<{ job: { state: string; progress: unknown; output: unknown } }>(
      gateway.graphqlUrl,
      tenant.token,
      'query($id: ID!) { job(queue: "sdk-progress", id: $id) { state progress output } }',
      { id: sendJob.id },
    );
    expect(job).toEqual({ state: 'COMPLETED', progress: { step: 2, of: 2 }, output: { finished: true } });
  });

  it('hands a job to another process with its lease, which completes it over HTTP; the worker does not settle it', async () => {
    const handedOver: WorkerJob[] = [];
    const worker = createWorker({
      url: gateway.wsUrl,
      token: tenant.token,
      queues: ['sdk-handoff'],
      handler: (job, { handOff }) => {
        handOff();
        handedOver.push(job);
      },
    });
    workers.push(worker);
    const producer = createProducer({ url: gateway.graphqlUrl, token: tenant.token });
    const sent = await producer.send('sdk-handoff', { n: 1 });
    await until(async () => handedOver.length === 1);
    await sleep(200);
    expect(await states('sdk-handoff')).toEqual({ active: 1 });
    const [job] = handedOver;
    expect(job!.lease).toEqual(expect.any(String));
    await producer.reportProgress('sdk-handoff', sent!.id, job!.lease!, 0.5);
    expect(await producer.complete('sdk-handoff', sent!.id, job!.lease!, { by: 'another process' })).toEqual({
      id: sent!.id,
      queue: 'sdk-handoff',
      state: 'COMPLETED',
    });
    await expect(producer.complete('sdk-handoff', sent!.id, job!.lease!)).rejects.toMatchObject({ code: 'CONFLICT' });
    const { rows } = await sql.query('SELECT state, output FROM pgboss.job WHERE name = $1 AND id = $2', [`${tenant.tenant.id}/sdk-handoff`, sent!.id]);
    expect(rows[0]).toEqual({ state: 'completed', output: { by: 'another process' } });
  });

  it('asks for group concurrency: never more than one job of a group at a time across two workers', async () => {
    let active = 0;
    let peak = 0;
    const handler = async () => {
      peak = Math.max(peak, ++active);
      await sleep(100);
      active--;
    };
    for (let n = 0; n < 2; n++) {
      workers.push(
        createWorker({ url: gateway.wsUrl, token: tenant.token, queues: ['sdk-groups'], concurrency: 4, groupConcurrency: { default: 1 }, handler }),
      );
    }
    await sleep(300);
    const producer = createProducer({ url: gateway.graphqlUrl, token: tenant.token });
    await producer.sendMany(
      'sdk-groups',
      Array.from({ length: 6 }, (_, n) => ({ data: { n }, options: { groupId: 'one-customer' } })),
    );
    await until(async () => (await states('sdk-groups')).completed === 6);
    expect(peak).toBe(1);
  });

  it('stops cleanly: the running job finishes and is completed, not failed back', async () => {
    await createQueue('sdk-stop');
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = createWorker({
      url: gateway.wsUrl,
      token: tenant.token,
      queues: ['sdk-stop'],
      handler: async () => {
        started();
        await sleep(300);
        return { finished: true };
      },
    });
    const [id] = await sendMany('sdk-stop', 1);
    await running;
    await worker.stop();
    const { rows } = await sql.query('SELECT state, retry_count, output FROM pgboss.job WHERE name = $1 AND id = $2', [`${tenant.tenant.id}/sdk-stop`, id]);
    expect(rows[0]).toEqual({ state: 'completed', retry_count: 0, output: { finished: true } });
  });

  it('reconnects after the gateway restarts and works the jobs that were failed back', async () => {
    await createQueue('sdk-reconnect', { retryLimit: 5 });
    const port = gateway.port;
    let calls = 0;
    const worker = createWorker({
      url: gateway.wsUrl,
      token: tenant.token,
      queues: ['sdk-reconnect'],
      reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      handler: async () => {
        calls++;
        if (calls === 1) await sleep(3_000); // still running when the gateway's drain (2 s) ends
        return { ok: true };
      },
      onError: () => {},
    });
    workers.push(worker);
    const [id] = await sendMany('sdk-reconnect', 1);
    await until(async () => calls === 1);
    await gateway.stop();
    gateway = await startGateway({ port });
    await until(async () => (await states('sdk-reconnect')).completed === 1, 15_000);
    const { rows } = await sql.query('SELECT retry_count FROM pgboss.job WHERE name = $1 AND id = $2', [`${tenant.tenant.id}/sdk-reconnect`, id]);
    // Put back by the stopping gateway, not failed: no retry used.
    expect(rows[0].retry_count).toBe(0);
    expect(calls).toBe(2);
  });

  it('rejects `done` when the token is refused', async () => {
    const worker = createWorker({ url: gateway.wsUrl, token: 'jg_not-a-real-token-at-all', queues: ['sdk-basic'], handler: () => null });
    await expect(worker.done).rejects.toBeDefined();
  });
});
