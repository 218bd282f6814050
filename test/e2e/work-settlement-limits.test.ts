import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { gqlData, httpGraphql, useWsClients, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { SEND_JOBS } from '../support/operations.ts';
import { collect, sleep } from '../support/subscriptions.ts';

const WORK = 'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id } }';
const WORK_LEASED = 'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id lease } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!, $lease: String) { completeJob(queue: $queue, id: $id, lease: $lease) { id } }';
const COMPLETE_MANY = 'mutation($queue: String!, $ids: [ID!]!, $lease: [String!]) { completeJobs(queue: $queue, ids: $ids, lease: $lease) { affected } }';
const FAIL = 'mutation($queue: String!, $id: ID!, $lease: String) { failJob(queue: $queue, id: $id, error: "on purpose", lease: $lease) { id } }';
const TOUCH = 'mutation($queue: String!, $id: ID!, $lease: String) { touchJob(queue: $queue, id: $id, lease: $lease) { id } }';
const PROGRESS = 'mutation($queue: String!, $id: ID!, $lease: String) { reportProgress(queue: $queue, id: $id, progress: { at: 1 }, lease: $lease) { id } }';
const QUEUES = 'query { queues { name } }';

let gateway: TestGateway;
/** Its default rate is a quota (JOBGATE_TENANT_OPERATIONS_QUOTA=true): a tenant alone is held to 500/s, so only the settlements' exemption keeps them from being refused. */
let quotaGateway: TestGateway;
const sql = useTestClient();
const wsClientFor = useWsClients();
const socket = (token: string, on: TestGateway = gateway): Client => wsClientFor(on.wsUrl, token);
const codes = (results: { errors?: readonly { extensions?: Record<string, unknown> }[] }[]) =>
  results.flatMap((result) => (result.errors ?? []).map((error) => String(error.extensions?.code)));

async function states(tenant: TestTenant, queue: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY state', [
    `${tenant.tenant.id}/${queue}`,
  ]);
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

/** Workers that complete every pushed job with its own completeJob over their socket; the codes of every refusal. */
function completingWorkers(tenant: TestTenant, queue: string, count: number, concurrency: number, on: TestGateway = gateway) {
  const pushed = new Map<string, number>();
  const refusals: string[] = [];
  const completing: Promise<void>[] = [];
  const stops = Array.from({ length: count }, () => {
    const client = socket(tenant.token, on);
    return client.subscribe<{ workAssigned: { id: string } }>(
      { query: WORK, variables: { queues: [queue], concurrency } },
      {
        next: (result) => {
          for (const error of result.errors ?? []) refusals.push(String(error.extensions?.code));
          const id = result.data?.workAssigned.id;
          if (!id) return;
          pushed.set(id, (pushed.get(id) ?? 0) + 1);
          completing.push(
            wsExecute(client, COMPLETE, { queue, id }).then((done) => {
              for (const error of done.errors ?? []) refusals.push(String(error.extensions?.code));
            }),
          );
        },
        error: (error) => refusals.push(`subscription ended: ${String(error)}`),
        complete: () => {},
      },
    );
  });
  return { pushed, refusals, stop: () => stops.forEach((stop) => stop()), settled: () => Promise.all(completing) };
}

/** sendJobs, again after a pause while the tenant's rate refuses it: sends stay limited. */
async function sendAll(on: TestGateway, tenant: TestTenant, queue: string, jobs: readonly object[]): Promise<void> {
  for (;;) {
    const response = await httpGraphql(on.graphqlUrl, tenant.token, SEND_JOBS, { queue, jobs });
    const code = response.body.errors?.[0]?.extensions?.code;
    if (code === undefined) return;
    if (code !== 'RATE_LIMITED') throw new Error(`sendJobs failed: ${JSON.stringify(response.body.errors)}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  [gateway, quotaGateway] = await Promise.all([startGateway(), startGateway({ defaultRateIsQuota: true })]);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), quotaGateway.stop()]);
});

describe('settlements and the tenant operation rate', () => {
  it.each([
    ['the default rate, a fair share', () => gateway],
    ['the default rate as a quota (500/s)', () => quotaGateway],
  ])(
    '5,000 jobs completed one completeJob each by 4 workers × 32, with %s: none refused, none worked twice',
    async (_limits, on) => {
      const tenant = await createTestTenant(on());
      const workers = completingWorkers(tenant, 'per-job', 4, 32, on());
      // Workers first; the producer sends 5 batches of 1,000.
      for (let batch = 0; batch < 5; batch++) {
        await sendAll(
          on(),
          tenant,
          'per-job',
          Array.from({ length: 1_000 }, (_, n) => ({ data: { n: batch * 1_000 + n } })),
        );
      }
      const deadline = Date.now() + 60_000;
      while ((await states(tenant, 'per-job')).completed !== 5_000 && Date.now() < deadline) await sleep(100);
      await workers.settled();
      expect(workers.refusals).toEqual([]);
      expect(await states(tenant, 'per-job')).toEqual({ completed: 5_000 });
      expect(workers.pushed.size).toBe(5_000);
      expect([...workers.pushed.values()].every((times) => times === 1)).toBe(true);
      const { rows } = await sql.query<{ retried: number }>('SELECT count(*)::int AS retried FROM pgboss.job WHERE name = $1 AND retry_count > 0', [
        `${tenant.tenant.id}/per-job`,
      ]);
      expect(rows[0]!.retried).toBe(0);
      workers.stop();
    },
    90_000,
  );

  // The tenant's rate is lowered to 2/s (burst 4) so that a test can reach it in a few requests.
  it('with a tenant rate of 2/s, held settlements still go through while other operations are refused', async () => {
    const tenant = await createTestTenant(gateway);
    await gateway.services.prisma.tenant.update({ where: { id: tenant.tenant.id }, data: { operationsPerSecond: 2 } });
    const workers = completingWorkers(tenant, 'slow-tenant', 1, 10);
    await sleep(200);
    await gqlData(gateway.graphqlUrl, tenant.token, SEND_JOBS, { queue: 'slow-tenant', jobs: Array.from({ length: 30 }, (_, n) => ({ data: { n } })) });
    const deadline = Date.now() + 20_000;
    while ((await states(tenant, 'slow-tenant')).completed !== 30 && Date.now() < deadline) await sleep(50);
    await workers.settled();
    expect(workers.refusals).toEqual([]);
    expect(await states(tenant, 'slow-tenant')).toEqual({ completed: 30 });
    // A completeJob of a job the caller does not hold is an operation like any other, and so is a send.
    const unheld = await Promise.all(
      Array.from({ length: 6 }, () =>
        httpGraphql(gateway.graphqlUrl, tenant.token, COMPLETE, { queue: 'slow-tenant', id: '01234567-89ab-7def-8123-456789abcdef' }),
      ),
    );
    expect(unheld.map((r) => r.body.errors?.[0]?.extensions?.code)).toContain('RATE_LIMITED');
    // As many at once as the burst holds and more: a loaded machine refills the bucket between single requests.
    const sends = await Promise.all(
      Array.from({ length: 6 }, () => httpGraphql(gateway.graphqlUrl, tenant.token, SEND_JOBS, { queue: 'slow-tenant', jobs: [{ data: {} }] })),
    );
    expect(sends.map((r) => r.body.errors?.[0]?.extensions?.code)).toContain('RATE_LIMITED');
    workers.stop();
  });

  it('with the rate spent, touch, progress, fail and complete of held jobs go through, over the socket and with leases over HTTP', async () => {
    const tenant = await createTestTenant(gateway);
    await gateway.services.prisma.tenant.update({ where: { id: tenant.tenant.id }, data: { operationsPerSecond: 2 } });
    const client = socket(tenant.token);
    const pushed = collect<{ workAssigned: { id: string; lease: string } }>(client, WORK_LEASED, { queues: ['held'], concurrency: 4 });
    await sleep(200);
    await sendAll(
      gateway,
      tenant,
      'held',
      Array.from({ length: 4 }, (_, n) => ({ data: { n }, options: { retryLimit: 0 } })),
    );
    await pushed.waitFor(() => pushed.results.length === 4);
    const [socketJob, leasedJob, failedJob, batchedJob] = pushed.results.map((result) => result.data!.workAssigned);
    // Spend the bucket: a burst of queries until one is refused.
    const spent = await Promise.all(Array.from({ length: 8 }, () => httpGraphql(gateway.graphqlUrl, tenant.token, QUEUES)));
    expect(spent.map((r) => r.body.errors?.[0]?.extensions?.code)).toContain('RATE_LIMITED');
    const http = (query: string, variables: Record<string, unknown>) => httpGraphql(gateway.graphqlUrl, tenant.token, query, variables).then((r) => r.body);
    const repeat = <T>(times: number, call: () => Promise<T>) => Promise.all(Array.from({ length: times }, call));
    const held = { queue: 'held', id: socketJob!.id };
    const leased = { queue: 'held', id: leasedJob!.id, lease: leasedJob!.lease };
    const results = [
      ...(await repeat(6, () => wsExecute(client, TOUCH, held))),
      ...(await repeat(6, () => wsExecute(client, PROGRESS, held))),
      ...(await repeat(6, () => http(TOUCH, leased))),
      ...(await repeat(6, () => http(PROGRESS, leased))),
      await wsExecute(client, COMPLETE, held),
      await http(COMPLETE, leased),
      await wsExecute(client, FAIL, { queue: 'held', id: failedJob!.id }),
      await wsExecute(client, COMPLETE_MANY, { queue: 'held', ids: [batchedJob!.id] }),
    ];
    expect(codes(results)).toEqual([]);
    expect(await states(tenant, 'held')).toEqual({ completed: 3, failed: 1 });
    // Everything else is still refused while the bucket is empty.
    const after = await Promise.all(Array.from({ length: 6 }, () => httpGraphql(gateway.graphqlUrl, tenant.token, QUEUES)));
    expect(after.map((r) => r.body.errors?.[0]?.extensions?.code)).toContain('RATE_LIMITED');
    pushed.stop();
  });

  it('held settlements take their share of the rate, and a settle refused for its input is admitted like any operation', async () => {
    const tenant = await createTestTenant(gateway);
    await gateway.services.prisma.tenant.update({ where: { id: tenant.tenant.id }, data: { operationsPerSecond: 2 } });
    const client = socket(tenant.token);
    const pushed = collect<{ workAssigned: { id: string; lease: string } }>(client, WORK_LEASED, { queues: ['counted'], concurrency: 4 });
    await sleep(200);
    await sendAll(
      gateway,
      tenant,
      'counted',
      Array.from({ length: 4 }, (_, n) => ({ data: { n } })),
    );
    await pushed.waitFor(() => pushed.results.length === 4);
    const jobs = pushed.results.map((result) => result.data!.workAssigned);
    // The bucket full again (a burst of 4 at 2/s), then spent by the four completions alone.
    await sleep(2_100);
    for (const job of jobs) expect(codes([await wsExecute(client, COMPLETE, { queue: 'counted', id: job.id })])).toEqual([]);
    const queries = await Promise.all(Array.from({ length: 4 }, () => httpGraphql(gateway.graphqlUrl, tenant.token, QUEUES)));
    expect(queries.map((r) => r.body.errors?.[0]?.extensions?.code)).toContain('RATE_LIMITED');
    // One lease for two ids: BAD_USER_INPUT before any job is named, so it is not a settlement of held jobs.
    const malformed = await Promise.all(
      Array.from({ length: 6 }, () =>
        httpGraphql(gateway.graphqlUrl, tenant.token, COMPLETE_MANY, { queue: 'counted', ids: [jobs[0]!.id, jobs[1]!.id], lease: [jobs[0]!.lease] }),
      ),
    );
    const refused = malformed.filter((r) => r.body.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 429));
    expect(malformed.every((r) => ['RATE_LIMITED', 'BAD_USER_INPUT'].includes(String(r.body.errors?.[0]?.extensions?.code)))).toBe(true);
    pushed.stop();
  });
});
