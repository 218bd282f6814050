import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { gqlData, httpGraphql, useWsClients, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { SEND_JOBS } from '../support/operations.ts';
import { sleep } from '../support/subscriptions.ts';

const WORK = 'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!) { completeJob(queue: $queue, id: $id) { id } }';

let gateway: TestGateway;
const sql = useTestClient();
const wsClientFor = useWsClients();
const socket = (token: string): Client => wsClientFor(gateway.wsUrl, token);

async function states(tenant: TestTenant, queue: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY state', [
    `${tenant.tenant.id}/${queue}`,
  ]);
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

/** Workers that complete every pushed job with its own completeJob over their socket; the codes of every refusal. */
function completingWorkers(tenant: TestTenant, queue: string, count: number, concurrency: number) {
  const pushed = new Map<string, number>();
  const refusals: string[] = [];
  const completing: Promise<void>[] = [];
  const stops = Array.from({ length: count }, () => {
    const client = socket(tenant.token);
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

beforeAll(async () => {
  gateway = await startGateway();
});

afterAll(async () => {
  await gateway.stop();
});

describe('settlements and the tenant operation rate', () => {
  it('5,000 jobs completed one completeJob each by 4 workers × 32, with default tenant limits: none refused, none worked twice', async () => {
    const tenant = await createTestTenant(gateway);
    const workers = completingWorkers(tenant, 'per-job', 4, 32);
    // Workers first; the producer sends 5 batches of 1,000.
    for (let batch = 0; batch < 5; batch++) {
      await gqlData(gateway.graphqlUrl, tenant.token, SEND_JOBS, {
        queue: 'per-job',
        jobs: Array.from({ length: 1_000 }, (_, n) => ({ data: { n: batch * 1_000 + n } })),
      });
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
  }, 90_000);

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
});
