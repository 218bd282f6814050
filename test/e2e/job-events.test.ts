import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { PgBoss } from 'pg-boss';
import { gqlData, wsClient } from '../support/clients.ts';
import { createTestTenant, startGateway, testDatabaseUrl, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { collect, type Collected } from '../support/subscriptions.ts';

interface EventData {
  jobEvents: { type: string; queue: string; jobId: string; state: string; retryCount: number; job: { id: string; data: unknown } | null };
}

const EVENTS = `subscription($queue: String, $jobId: ID, $types: [JobEventType!]) {
  jobEvents(queue: $queue, jobId: $jobId, types: $types) { type queue jobId state retryCount job { id data } }
}`;
const SEND = 'mutation($queue: String!, $data: JSON!, $options: JobOptionsInput) { sendJob(queue: $queue, data: $data, options: $options) { id } }';

let gateway: TestGateway;
let other: TestGateway;
let a: TestTenant;
let b: TestTenant;
let boss: PgBoss;
const clients: Client[] = [];

function client(tenant: TestTenant, on: TestGateway = gateway): Client {
  const created = wsClient(on.wsUrl, { token: tenant.token });
  clients.push(created);
  return created;
}

async function send(tenant: TestTenant, queue: string, data: unknown = {}, options?: Record<string, unknown>, on: TestGateway = gateway): Promise<string> {
  const result = await gqlData<{ sendJob: { id: string } }>(on.graphqlUrl, tenant.token, SEND, { queue, data, options });
  return result.sendJob.id;
}

/** Subscribes and waits until the subscription provably receives events (a probe job's CREATED). */
async function subscribed(tenant: TestTenant, variables: Record<string, unknown>, on: TestGateway = gateway): Promise<Collected<EventData>> {
  const probeQueue = `probe-${Math.random().toString(36).slice(2)}`;
  const sub = collect<EventData>(client(tenant, on), EVENTS, variables);
  const probe = collect<EventData>(client(tenant, on), EVENTS, { queue: probeQueue });
  // Both subscriptions travel on their own sockets; a probe event on the
  // probe socket proves the gateway is delivering, then a short settle.
  for (let attempt = 0; ; attempt++) {
    const id = await send(tenant, probeQueue);
    try {
      await probe.waitFor((d) => d.jobEvents.jobId === id, 300);
      break;
    } catch (error) {
      if (attempt > 20) throw error;
    }
  }
  probe.stop();
  await new Promise((resolve) => setTimeout(resolve, 100));
  return sub;
}

beforeAll(async () => {
  [gateway, other] = await Promise.all([startGateway(), startGateway()]);
  a = await createTestTenant(gateway);
  b = await createTestTenant(gateway);
  boss = new PgBoss({ connectionString: testDatabaseUrl(), supervise: false, schedule: false });
  await boss.start();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await boss.stop({ graceful: false });
  await Promise.all([gateway.stop(), other.stop()]);
});

describe('jobEvents', () => {
  it('reports created, started and completed — completion by a plain pg-boss worker in another process', async () => {
    const sub = await subscribed(a, { queue: 'emails' });
    const id = await send(a, 'emails', { to: 'ann@example.com' });
    const created = await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'CREATED');
    expect(created.jobEvents).toMatchObject({ queue: 'emails', state: 'CREATED', job: { id, data: { to: 'ann@example.com' } } });

    const qualified = `${a.tenant.id}/emails`;
    const [job] = await boss.fetch(qualified);
    expect(job?.id).toBe(id);
    await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'ACTIVE');
    await boss.complete(qualified, id, { sent: true });
    const completed = await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'COMPLETED');
    expect(completed.jobEvents.state).toBe('COMPLETED');
    const types = sub.results
      .map((r) => r.data!.jobEvents)
      .filter((e) => e.jobId === id)
      .map((e) => e.type);
    expect(types).toEqual(['CREATED', 'ACTIVE', 'COMPLETED']);
    sub.stop();
  });

  it('reports retries and the final failure, in order', async () => {
    const sub = await subscribed(a, { queue: 'flaky' });
    const id = await send(a, 'flaky', {}, { retryLimit: 1 });
    const qualified = `${a.tenant.id}/flaky`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const [job] = await boss.fetch(qualified);
      expect(job?.id).toBe(id);
      await boss.fail(qualified, id, { attempt });
    }
    await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'FAILED');
    const types = sub.results
      .map((r) => r.data!.jobEvents)
      .filter((e) => e.jobId === id)
      .map((e) => e.type);
    expect(types).toEqual(['CREATED', 'ACTIVE', 'RETRY', 'ACTIVE', 'FAILED']);
    sub.stop();
  });

  it('reports cancellation and deletion through the API, and filters by type', async () => {
    const sub = await subscribed(a, { queue: 'reports', types: ['CANCELLED', 'DELETED'] });
    const id = await send(a, 'reports');
    await gqlData(gateway.graphqlUrl, a.token, 'mutation($id: ID!) { cancelJob(queue: "reports", id: $id) { id } }', { id });
    await gqlData(gateway.graphqlUrl, a.token, 'mutation($id: ID!) { deleteJob(queue: "reports", id: $id) }', { id });
    const deleted = await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'DELETED');
    expect(deleted.jobEvents.job).toBeNull();
    const types = sub.results
      .map((r) => r.data!.jobEvents)
      .filter((e) => e.jobId === id)
      .map((e) => e.type);
    expect(types).toEqual(['CANCELLED', 'DELETED']);
    sub.stop();
  });

  it('yields the final event at once for a job that already finished', async () => {
    const id = await send(a, 'done-already');
    const qualified = `${a.tenant.id}/done-already`;
    await boss.fetch(qualified);
    await boss.complete(qualified, id);
    const sub = collect<EventData>(client(a), EVENTS, { jobId: id });
    const event = await sub.waitFor(() => true);
    expect(event.jobEvents).toMatchObject({ type: 'COMPLETED', jobId: id, queue: 'done-already' });
    sub.stop();
  });

  it('never misses a completion between sendJob and jobEvents(jobId)', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await send(a, 'race');
      const qualified = `${a.tenant.id}/race`;
      const sub = collect<EventData>(client(a), EVENTS, { jobId: id });
      await boss.fetch(qualified);
      await boss.complete(qualified, id);
      const done = await sub.waitFor((d) => d.jobEvents.type === 'COMPLETED');
      expect(done.jobEvents.jobId).toBe(id);
      const types = sub.results.map((r) => r.data!.jobEvents.type);
      // Whatever part of the history was seen is in order and ends with exactly one completion.
      const history = ['CREATED', 'ACTIVE', 'COMPLETED'];
      expect(types).toEqual(history.slice(history.length - types.length));
      sub.stop();
    }
  });

  it('propagates in real time to every subscriber, across gateway instances', async () => {
    const first = await subscribed(a, { queue: 'fanout' });
    const second = await subscribed(a, { queue: 'fanout' }, other);
    const id = await send(a, 'fanout', { n: 1 }, undefined, other);
    await first.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'CREATED');
    await second.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'CREATED');
    first.stop();
    second.stop();
  });

  it("never carries another tenant's events, even on the same queue name", async () => {
    const subA = await subscribed(a, {});
    const subB = await subscribed(b, { queue: 'shared' });
    const idB = await send(b, 'shared', { secret: 'b' });
    const idA = await send(a, 'shared', { secret: 'a' });
    await subB.waitFor((d) => d.jobEvents.jobId === idB);
    await subA.waitFor((d) => d.jobEvents.jobId === idA);
    // By now B's later event would have arrived too had it leaked (same channel, commit order).
    expect(subA.results.some((r) => r.data?.jobEvents.jobId === idB)).toBe(false);
    expect(subB.results.every((r) => r.data?.jobEvents.jobId !== idA)).toBe(true);
    // Subscribing to the other tenant's job id behaves like an unknown job: nothing arrives.
    const peek = collect<EventData>(client(b), EVENTS, { jobId: idA });
    await expect(peek.waitFor(() => true, 500)).rejects.toThrow('no matching result');
    subA.stop();
    subB.stop();
    peek.stop();
  });

  it('delivers every change of a large statement: a 1,000-job batch spans several notifications', async () => {
    const sub = await subscribed(a, { queue: 'bulk', types: ['CREATED'] });
    const jobs = Array.from({ length: 1_000 }, (_u, n) => ({ data: { n } }));
    const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(
      gateway.graphqlUrl,
      a.token,
      'mutation($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }',
      { queue: 'bulk', jobs },
    );
    expect(ids).toHaveLength(1_000);
    const last = ids.at(-1)!;
    await sub.waitFor((d) => d.jobEvents.jobId === last, 10_000);
    const seen = sub.results.map((r) => r.data?.jobEvents.jobId);
    // Each job exactly once, in the order of the statement.
    expect(seen).toEqual(ids);
    sub.stop();
  });

  it.each([
    ['created through the gateway', true],
    ['created by pg-boss directly, outside the gateway', false],
  ])('reports the jobs of a partitioned queue (%s)', async (_label, throughGateway) => {
    const queue = `parted-${throughGateway ? 'gw' : 'raw'}`;
    const qualified = `${a.tenant.id}/${queue}`;
    if (throughGateway) {
      const created = await gqlData<{ createQueue: { options: { partition: boolean } } }>(
        gateway.graphqlUrl,
        a.token,
        'mutation($name: String!) { createQueue(name: $name, options: { partition: true }) { options { partition } } }',
        { name: queue },
      );
      expect(created.createQueue.options.partition).toBe(true);
    } else {
      await boss.createQueue(qualified, { partition: true });
    }
    const sub = await subscribed(a, { queue });
    const id = await send(a, queue, { n: 1 });
    await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'CREATED');
    const [job] = await boss.fetch(qualified);
    expect(job?.id).toBe(id);
    await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'ACTIVE');
    await boss.complete(qualified, id);
    await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'COMPLETED');
    expect(sub.results.filter((r) => r.data?.jobEvents.jobId === id).map((r) => r.data?.jobEvents.type)).toEqual(['CREATED', 'ACTIVE', 'COMPLETED']);
    // Through the gateway the queue's own table gets the per-statement triggers at once; a table made
    // elsewhere keeps the per-row trigger cloned from pgboss.job until the next gateway start adopts it.
    const { rows } = await gateway.services.pool.query<{ tgname: string; enabled: boolean }>(
      `SELECT t.tgname, t.tgenabled <> 'D' AS enabled FROM pg_trigger t
         JOIN pgboss.queue q ON t.tgrelid = format('pgboss.%I', q.table_name)::regclass
        WHERE q.name = $1 AND t.tgname LIKE 'jobgate_%' ORDER BY t.tgname`,
      [qualified],
    );
    expect(rows).toEqual(
      throughGateway
        ? [
            { tgname: 'jobgate_job_deletes', enabled: true },
            { tgname: 'jobgate_job_events', enabled: false },
            { tgname: 'jobgate_job_inserts', enabled: true },
            { tgname: 'jobgate_job_updates', enabled: true },
          ]
        : [{ tgname: 'jobgate_job_events', enabled: true }],
    );
    sub.stop();
  });

  it('refuses bad filters and tokens without READ with a clear error', async () => {
    const bad = collect<EventData>(client(a), EVENTS, { queue: '../x' });
    expect(JSON.stringify(await bad.error)).toContain('BAD_USER_INPUT');
    const workOnly = await createTestTenant(gateway, ['WORK']);
    const forbidden = collect<EventData>(client(workOnly), EVENTS, {});
    expect(JSON.stringify(await forbidden.error)).toContain('FORBIDDEN');
  });
});
