import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { JOB_EVENTS_CHANNEL } from '../../src/sql/job-events.ts';
import { gqlData, httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, withTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { createQueue as createQueueAs, sendJob } from '../support/operations.ts';
import { collect, sleep } from '../support/subscriptions.ts';

interface Assigned {
  workAssigned: { id: string; queue: string; state: string; data: { n?: number } | null; retryCount: number };
}

const WORK =
  'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id queue state data retryCount } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!, $output: JSON) { completeJob(queue: $queue, id: $id, output: $output) { id state output } }';
const COMPLETE_MANY = 'mutation($queue: String!, $ids: [ID!]!) { completeJobs(queue: $queue, ids: $ids) { requested affected } }';

let gateway: TestGateway;
let other: TestGateway;
let tenant: TestTenant;
const sql = useTestClient();
const clients: Client[] = [];

function worker(on: TestGateway = gateway, token = tenant.token): Client {
  const client = wsClient(on.wsUrl, { token });
  clients.push(client);
  return client;
}

const createQueue = (name: string, options: Record<string, unknown> = {}) => createQueueAs(gateway, tenant.token, name, options);

const send = (queue: string, data: Record<string, unknown> = {}, options?: Record<string, unknown>, on: TestGateway = gateway) =>
  sendJob(on, tenant.token, queue, data, options);

async function jobRow(queue: string, id: string): Promise<{ state: string; retry_count: number; output: unknown }> {
  const { rows } = await sql.query('SELECT state, retry_count, output FROM pgboss.job WHERE name = $1 AND id = $2', [`${tenant.tenant.id}/${queue}`, id]);
  return rows[0];
}

/** Until the queue's row exists (the worker's subscription created it). */
async function waitForQueue(name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await sql.query('SELECT 1 FROM pgboss.queue WHERE name = $1', [`${tenant.tenant.id}/${name}`])).rowCount === 0) {
    if (Date.now() > deadline) throw new Error(`queue ${name} was not created`);
    await sleep(20);
  }
}

beforeAll(async () => {
  [gateway, other] = await Promise.all([startGateway(), startGateway()]);
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all([gateway.stop(), other.stop()]);
});

describe('workAssigned', () => {
  it('registers a worker for specific queues and pushes it only their jobs; the worker completes them', async () => {
    await createQueue('images');
    await createQueue('videos');
    const client = worker();
    const sub = collect<Assigned>(client, WORK, { queues: ['images'], concurrency: 2 });
    const videoId = await send('videos', { n: 0 });
    const id = await send('images', { n: 1 });
    const pushed = await sub.waitFor((d) => d.workAssigned.id === id);
    expect(pushed.workAssigned).toMatchObject({ queue: 'images', state: 'ACTIVE', data: { n: 1 } });
    const done = await wsExecute(client, COMPLETE, { queue: 'images', id, output: { ok: true } });
    expect(done.data).toEqual({ completeJob: { id, state: 'COMPLETED', output: { ok: true } } });
    expect(await jobRow('images', id)).toMatchObject({ state: 'completed', output: { ok: true } });
    expect(sub.results.some((r) => r.data?.workAssigned.id === videoId)).toBe(false);
    expect((await jobRow('videos', videoId)).state).toBe('created');
    sub.stop();
  });

  it('a worker started before its queue exists creates it with defaults and gets the first job sent to it', async () => {
    const sub = collect<Assigned>(worker(), WORK, { queues: ['first-use'], concurrency: 1 });
    await waitForQueue('first-use');
    const id = await send('first-use', { n: 1 });
    const pushed = await sub.waitFor((d) => d.workAssigned.id === id);
    expect(pushed.workAssigned).toMatchObject({ queue: 'first-use', state: 'ACTIVE' });
    expect(sub.results.filter((r) => r.errors)).toEqual([]);
    sub.stop();
  });

  it('pushes a job deferred past the safety poll once it is due (nothing else wakes its queue)', async () => {
    const sub = collect<Assigned>(worker(), WORK, { queues: ['deferred'], concurrency: 1 });
    await waitForQueue('deferred');
    // Further off than the dispatcher's 5 s poll, so no timer of its own is set for it.
    const due = Date.now() + 6_500;
    const id = await send('deferred', { n: 1 }, { startAfter: new Date(due).toISOString() });
    const pushed = await sub.waitFor((d) => d.workAssigned.id === id, 15_000);
    expect(Date.now()).toBeGreaterThanOrEqual(due - 50);
    expect(pushed.workAssigned.state).toBe('ACTIVE');
    sub.stop();
  }, 30_000);

  it('refuses missing WORK scope, bad concurrency, bad names and HTTP with clear errors', async () => {
    const zero = collect<Assigned>(worker(), WORK, { queues: ['images'], concurrency: 0 });
    expect(JSON.stringify(await zero.error)).toContain('BAD_USER_INPUT');
    const badName = collect<Assigned>(worker(), WORK, { queues: ['../images'] });
    expect(JSON.stringify(await badName.error)).toContain('BAD_USER_INPUT');
    const readOnly = await createTestTenant(gateway, ['READ', 'PUBLISH']);
    const forbidden = collect<Assigned>(worker(gateway, readOnly.token), WORK, { queues: ['images'] });
    expect(JSON.stringify(await forbidden.error)).toContain('FORBIDDEN');
  });

  it('never exceeds concurrency, and settles a batch with completeJobs', async () => {
    await createQueue('bulk');
    const client = worker();
    const unsettled = new Set<string>();
    let peak = 0;
    const sub = collect<Assigned>(client, WORK, { queues: ['bulk'], concurrency: 3 });
    const ids = (
      await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, tenant.token, 'mutation($jobs: [JobInput!]!) { sendJobs(queue: "bulk", jobs: $jobs) }', {
        jobs: Array.from({ length: 30 }, (_, n) => ({ data: { n } })),
      })
    ).sendJobs;
    let seen = 0;
    while (seen < ids.length) {
      await sub.waitFor(() => sub.results.length > seen, 5000);
      const batch = sub.results.slice(seen).map((r) => r.data!.workAssigned.id);
      seen = sub.results.length;
      for (const id of batch) unsettled.add(id);
      peak = Math.max(peak, unsettled.size);
      await sleep(20);
      const result = await wsExecute<{ completeJobs: { affected: number } }>(client, COMPLETE_MANY, { queue: 'bulk', ids: batch });
      expect(result.data?.completeJobs.affected).toBe(batch.length);
      for (const id of batch) unsettled.delete(id);
    }
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(0);
    const { rows } = await sql.query("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'", [`${tenant.tenant.id}/bulk`]);
    expect(rows[0].n).toBe(30);
    sub.stop();
  });

  it('pushes a claimed job even when the notification of its creation is read only after the claim took it', async () => {
    await createQueue('late-news');
    const qualified = `${tenant.tenant.id}/late-news`;
    const client = worker();
    const sub = collect<Assigned>(client, WORK, { queues: ['late-news'], concurrency: 1 });
    const held = await send('late-news');
    await sub.waitFor((d) => d.workAssigned.id === held);
    const next = await send('late-news', { n: 1 });
    // Hold the next claim open between its fetch and its commit: an uncommitted lease row on the
    // same key makes its grant wait.
    await withTestClient(async (blocker) => {
      try {
        await blocker.query('BEGIN');
        await blocker.query("INSERT INTO job_lease (queue, job_id, retry_count, holder) VALUES ($1, $2, 0, 'test')", [qualified, next]);
        await wsExecute(client, COMPLETE, { queue: 'late-news', id: held });
        for (let waited = 0; ; waited += 20) {
          const { rows } = await sql.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'jobgate-claims' AND wait_event_type = 'Lock'");
          if (rows.length) break;
          if (waited > 10_000) throw new Error('the claim never waited on the lease');
          await sleep(20);
        }
        // The job's CREATED notification, read now: after the claim planned its hold, before its ACTIVE.
        await sql.query('SELECT pg_notify($1, $2)', [JOB_EVENTS_CHANNEL, ['I', 'created', qualified, next, '0'].join('\t')]);
        await gateway.services.events.sync();
      } finally {
        await blocker.query('ROLLBACK');
      }
    });
    await sub.waitFor((d) => d.workAssigned.id === next, 5_000);
    sub.stop();
  });

  it("claims a job sent while a worker waits in the send's own transaction, within concurrency", async () => {
    await createQueue('same-transaction');
    const qualified = `${tenant.tenant.id}/same-transaction`;
    await withTestClient(async (listener) => {
      const notices: { pid: number; line: string }[] = [];
      listener.on('notification', (n) => {
        for (const line of n.payload?.split('\n') ?? []) if (line.includes(qualified)) notices.push({ pid: n.processId, line });
      });
      await listener.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
      const noticeOf = async (id: string, prefix: string) => {
        for (let waited = 0; waited < 5_000; waited += 20) {
          const found = notices.find((n) => n.line.startsWith(prefix) && n.line.includes(id));
          if (found) return found;
          await sleep(20);
        }
        throw new Error(`no "${prefix}" notification for ${id}`);
      };
      const client = worker();
      const sub = collect<Assigned>(client, WORK, { queues: ['same-transaction'], concurrency: 2 });
      const query = '{ workers(queue: "same-transaction") { id } }';
      while ((await gqlData<{ workers: unknown[] }>(gateway.graphqlUrl, tenant.token, query)).workers.length === 0) await sleep(20);
      // Past the worker's first claim (of an empty queue), which holds its room while in flight.
      await sleep(300);
      const ids = [await send('same-transaction', { n: 0 }), await send('same-transaction', { n: 1 }), await send('same-transaction', { n: 2 })];
      await sub.waitFor((d) => d.workAssigned.id === ids[1]);
      // The first was created and made active by one backend: the insert and the claim were one transaction.
      // (The second may not be: its CREATED notification can reach the gateway before the first send's
      // own result does, and start a claim that holds the room the second send would have used.)
      const [created, active] = [await noticeOf(ids[0]!, 'I\tcreated'), await noticeOf(ids[0]!, 'U\tactive')];
      expect(active.pid).toBe(created.pid);
      for (const id of ids.slice(0, 2)) {
        const { rows } = await sql.query('SELECT holder FROM job_lease WHERE queue = $1 AND job_id = $2', [qualified, id]);
        expect(rows).toHaveLength(1);
      }
      // The events of all three sends have reached the gateway; they did not free a slot.
      await gateway.services.events.sync();
      await sleep(100);
      expect(sub.results.map((r) => r.data?.workAssigned.id)).toEqual(ids.slice(0, 2));
      expect((await jobRow('same-transaction', ids[2]!)).state).toBe('created');
      await wsExecute(client, COMPLETE, { queue: 'same-transaction', id: ids[0] });
      await sub.waitFor((d) => d.workAssigned.id === ids[2]);
      for (const id of ids.slice(1))
        expect((await wsExecute<{ completeJob: { state: string } }>(client, COMPLETE, { queue: 'same-transaction', id })).data?.completeJob.state).toBe(
          'COMPLETED',
        );
      sub.stop();
    });
  });

  it('a job another instance creates while a send here claims in its own transaction still reaches the worker at once', async () => {
    await createQueue('meanwhile');
    const client = worker();
    const sub = collect<Assigned>(client, WORK, { queues: ['meanwhile'], concurrency: 4 });
    const query = '{ workers(queue: "meanwhile") { id } }';
    while ((await gqlData<{ workers: unknown[] }>(gateway.graphqlUrl, tenant.token, query)).workers.length === 0) await sleep(20);
    await sleep(300);
    for (let round = 0; round < 15; round++) {
      // Here: a send that claims. There: a send whose CREATED may reach this instance during that claim.
      const ids = await Promise.all([send('meanwhile', { round }), send('meanwhile', { round }, undefined, other)]);
      for (const id of ids) await sub.waitFor((d) => d.workAssigned.id === id, 2_000);
      for (const id of ids) await wsExecute(client, COMPLETE, { queue: 'meanwhile', id });
    }
    sub.stop();
  });

  it("gives a closed worker's job to another worker within a second; the late completion is a CONFLICT", async () => {
    await createQueue('handoff', { retryLimit: 3 });
    const first = worker();
    const firstSub = collect<Assigned>(first, WORK, { queues: ['handoff'] });
    const id = await send('handoff', { n: 7 });
    await firstSub.waitFor((d) => d.workAssigned.id === id);

    // Another connection may not settle a job held by the first worker.
    const outsider = worker();
    const stolen = await wsExecute(outsider, COMPLETE, { queue: 'handoff', id });
    expect(stolen.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const overHttp = await httpGraphql(gateway.graphqlUrl, tenant.token, COMPLETE, { queue: 'handoff', id });
    expect(overHttp.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await jobRow('handoff', id)).state).toBe('active');

    const second = worker();
    const secondSub = collect<Assigned>(second, WORK, { queues: ['handoff'] });
    await sleep(200);
    const closedAt = Date.now();
    await first.dispose();
    const handedOver = await secondSub.waitFor((d) => d.workAssigned.id === id, 1000);
    expect(Date.now() - closedAt).toBeLessThan(1000);
    expect(handedOver.workAssigned.retryCount).toBe(1);

    const late = await httpGraphql(gateway.graphqlUrl, tenant.token, COMPLETE, { queue: 'handoff', id });
    expect(late.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await jobRow('handoff', id)).toMatchObject({ state: 'active', retry_count: 1 });
    const done = await wsExecute(second, COMPLETE, { queue: 'handoff', id });
    expect(done.errors).toBeUndefined();
    secondSub.stop();
  });

  it('a hold that moved on behind this instance is not settled by its old holder; the rest of the call still is', async () => {
    await createQueue('moved');
    const qualified = `${tenant.tenant.id}/moved`;
    const client = worker();
    const sub = collect<Assigned>(client, WORK, { queues: ['moved'], concurrency: 2 });
    const [kept, moved] = [await send('moved', { n: 1 }), await send('moved', { n: 2 })];
    await sub.waitFor(() => sub.results.length >= 2);
    // As when the job was cancelled, resumed and taken at the same attempt by a worker on another
    // instance: the lease names someone else, while this instance still has the worker holding it.
    await sql.query("UPDATE job_lease SET holder = 'another-connection' WHERE queue = $1 AND job_id = $2", [qualified, moved]);

    const result = await wsExecute<{ completeJobs: { requested: number; affected: number } }>(client, COMPLETE_MANY, { queue: 'moved', ids: [kept, moved] });
    expect(result.errors).toBeUndefined();
    expect(result.data?.completeJobs).toEqual({ requested: 2, affected: 1 });
    expect((await jobRow('moved', kept)).state).toBe('completed');
    expect((await jobRow('moved', moved)).state).toBe('active');
    const { rows } = await sql.query('SELECT job_id AS id, holder FROM job_lease WHERE queue = $1', [qualified]);
    expect(rows).toEqual([{ id: moved, holder: 'another-connection' }]);
    const again = await wsExecute(client, COMPLETE, { queue: 'moved', id: moved });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    sub.stop();
  });

  it('spreads work over the workers of a queue', async () => {
    await createQueue('fair');
    const a = collect<Assigned>(worker(), WORK, { queues: ['fair'], concurrency: 1 });
    const b = collect<Assigned>(worker(), WORK, { queues: ['fair'], concurrency: 1 });
    await sleep(200);
    await gqlData(gateway.graphqlUrl, tenant.token, 'mutation($jobs: [JobInput!]!) { sendJobs(queue: "fair", jobs: $jobs) }', {
      jobs: Array.from({ length: 4 }, (_, n) => ({ data: { n } })),
    });
    await a.waitFor(() => true);
    await b.waitFor(() => true);
    a.stop();
    b.stop();
  });

  it('pushes work across gateway instances and delivers delayed jobs when they become ready', async () => {
    await createQueue('later');
    const client = worker(other);
    const sub = collect<Assigned>(client, WORK, { queues: ['later'] });
    await sleep(200);
    const now = await send('later', { n: 1 });
    await sub.waitFor((d) => d.workAssigned.id === now);
    await wsExecute(client, COMPLETE, { queue: 'later', id: now });
    const delayed = await send('later', { n: 2 }, { delaySeconds: 1 });
    const sentAt = Date.now();
    await sub.waitFor((d) => d.workAssigned.id === delayed, 4000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
    const touched = await wsExecute(client, 'mutation($id: ID!) { touchJob(queue: "later", id: $id) { id state } }', { id: delayed });
    expect(touched.errors).toBeUndefined();
    sub.stop();
  });

  it('delivers a delayed job sent through the instance its worker waits on when it becomes ready', async () => {
    await createQueue('later-here');
    const client = worker();
    const sub = collect<Assigned>(client, WORK, { queues: ['later-here'] });
    await sleep(200);
    const delayed = await send('later-here', { n: 1 }, { delaySeconds: 1 });
    const sentAt = Date.now();
    // Well before the 5 s safety poll: the claim that found nothing ready armed a timer for it.
    await sub.waitFor((d) => d.workAssigned.id === delayed, 3_000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
    sub.stop();
  });

  it('lists connected workers with their concurrency and jobs in hand, seen from another instance', async () => {
    await createQueue('visible');
    const client = worker();
    const sub = collect<Assigned>(client, WORK, { queues: ['visible'], concurrency: 2 });
    const id = await send('visible');
    await sub.waitFor((d) => d.workAssigned.id === id);
    const query = '{ workers(queue: "visible") { id queues concurrency inHand connectedAt } }';
    const seen = await gqlData<{ workers: { queues: string[]; concurrency: number; inHand: number }[] }>(other.graphqlUrl, tenant.token, query);
    expect(seen.workers).toHaveLength(1);
    expect(seen.workers[0]).toMatchObject({ queues: ['visible'], concurrency: 2, inHand: 1 });
    const stranger = await createTestTenant(gateway);
    expect((await gqlData<{ workers: unknown[] }>(gateway.graphqlUrl, stranger.token, '{ workers { id } }')).workers).toEqual([]);
    sub.stop();
    await sleep(300);
    expect((await gqlData<{ workers: unknown[] }>(gateway.graphqlUrl, tenant.token, query)).workers).toEqual([]);
  });

  it('workAssignedBatches pushes the jobs of one claim in one message, within concurrency', async () => {
    await createQueue('batched');
    const client = worker();
    const sub = collect<{ workAssignedBatches: { id: string; state: string }[] }>(
      client,
      'subscription { workAssignedBatches(queues: ["batched"], concurrency: 5) { id state } }',
    );
    await sleep(200);
    const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(
      gateway.graphqlUrl,
      tenant.token,
      'mutation($jobs: [JobInput!]!) { sendJobs(queue: "batched", jobs: $jobs) }',
      {
        jobs: Array.from({ length: 12 }, (_, n) => ({ data: { n } })),
      },
    );
    const received = new Set<string>();
    let seen = 0;
    while (received.size < ids.length) {
      await sub.waitFor(() => sub.results.length > seen, 5000);
      for (; seen < sub.results.length; seen++) {
        const batch = sub.results[seen]!.data!.workAssignedBatches;
        expect(batch.length).toBeGreaterThan(0);
        expect(batch.length).toBeLessThanOrEqual(5);
        expect(batch.every((job) => job.state === 'ACTIVE')).toBe(true);
        for (const job of batch) received.add(job.id);
        const done = await wsExecute<{ completeJobs: { affected: number } }>(client, COMPLETE_MANY, { queue: 'batched', ids: batch.map((job) => job.id) });
        expect(done.data?.completeJobs.affected).toBe(batch.length);
      }
    }
    expect([...received].sort()).toEqual([...ids].sort());
    // At least one message carried several jobs: the claim was not split per job.
    expect(sub.results.some((r) => (r.data?.workAssignedBatches.length ?? 0) > 1)).toBe(true);
    sub.stop();
  });
});
