import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gqlData, useWsClients, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { SEND_JOBS } from '../support/operations.ts';
import { collect, sleep } from '../support/subscriptions.ts';

const WORK = `subscription($queues: [String!]!, $concurrency: Int, $groups: GroupConcurrencyInput) {
  workAssigned(queues: $queues, concurrency: $concurrency, groupConcurrency: $groups) { id groupId } }`;
const COMPLETE = 'mutation($queue: String!, $id: ID!) { completeJob(queue: $queue, id: $id) { id } }';

let gateways: TestGateway[];
let tenant: TestTenant;
const sql = useTestClient();
const wsClientFor = useWsClients();

beforeAll(async () => {
  gateways = await Promise.all([startGateway(), startGateway()]);
  tenant = await createTestTenant(gateways[0]!);
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
});

/** A worker that holds each job for `holdMs`, then completes it over its socket. */
function slowWorker(on: TestGateway, queue: string, concurrency: number, groups: unknown, holdMs: number): { stop: () => void; errors: unknown[] } {
  const client = wsClientFor(on.wsUrl, tenant.token);
  const errors: unknown[] = [];
  const stop = client.subscribe<{ workAssigned: { id: string } }>(
    { query: WORK, variables: { queues: [queue], concurrency, groups } },
    {
      next: (result) => {
        if (result.errors) errors.push(result.errors);
        const id = result.data?.workAssigned.id;
        if (id) void sleep(holdMs).then(() => wsExecute(client, COMPLETE, { queue, id }).then((done) => done.errors && errors.push(done.errors)));
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  return { stop, errors };
}

async function activeByGroup(queue: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ group_id: string; n: number }>(
    "SELECT group_id, count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'active' GROUP BY group_id",
    [`${tenant.tenant.id}/${queue}`],
  );
  return Object.fromEntries(rows.map((row) => [row.group_id, row.n]));
}

async function completedByGroup(queue: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ group_id: string; n: number }>(
    "SELECT group_id, count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed' GROUP BY group_id",
    [`${tenant.tenant.id}/${queue}`],
  );
  return Object.fromEntries(rows.map((row) => [row.group_id, row.n]));
}

describe('group concurrency', () => {
  it('caps the jobs of one group in flight across workers on two instances; a flooding group does not starve another', async () => {
    const groups = { default: 2 };
    const workers = [
      slowWorker(gateways[0]!, 'fair', 6, groups, 150),
      slowWorker(gateways[0]!, 'fair', 6, groups, 150),
      slowWorker(gateways[1]!, 'fair', 6, groups, 150),
    ];
    await sleep(300);
    // The flood first, then a small customer's jobs behind it.
    await gqlData(gateways[0]!.graphqlUrl, tenant.token, SEND_JOBS, {
      queue: 'fair',
      jobs: Array.from({ length: 40 }, (_, n) => ({ data: { n }, options: { groupId: 'flood' } })),
    });
    await gqlData(gateways[1]!.graphqlUrl, tenant.token, SEND_JOBS, {
      queue: 'fair',
      jobs: Array.from({ length: 6 }, (_, n) => ({ data: { n }, options: { groupId: 'small' } })),
    });
    const peak: Record<string, number> = {};
    let floodDoneWhenSmallFinished: number | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      for (const [group, n] of Object.entries(await activeByGroup('fair'))) peak[group] = Math.max(peak[group] ?? 0, n);
      const done = await completedByGroup('fair');
      if (done.small === 6) floodDoneWhenSmallFinished ??= done.flood ?? 0;
      if ((done.flood ?? 0) + (done.small ?? 0) === 46 || Date.now() > deadline) break;
      await sleep(10);
    }
    expect(await completedByGroup('fair')).toEqual({ flood: 40, small: 6 });
    expect(peak).toEqual({ flood: 2, small: 2 });
    // With two of the flood's jobs at a time, it is far from done when the small group is.
    expect(floodDoneWhenSmallFinished).toBeLessThan(20);
    expect(workers.flatMap((w) => w.errors)).toEqual([]);
    for (const worker of workers) worker.stop();
  });

  it('takes tiers, and refuses limits out of range', async () => {
    const worker = wsClientFor(gateways[0]!.wsUrl, tenant.token);
    const bad = async (groups: unknown) => JSON.stringify(await collect(worker, WORK, { queues: ['tiers'], groups }).error);
    expect(await bad({ default: 0 })).toContain('BAD_USER_INPUT');
    expect(await bad({ default: 1, tiers: [{ tier: 'gold', limit: 0 }] })).toContain('BAD_USER_INPUT');
    expect(
      await bad({
        default: 1,
        tiers: [
          { tier: 'gold', limit: 2 },
          { tier: 'gold', limit: 3 },
        ],
      }),
    ).toContain('BAD_USER_INPUT');
    const tiered = slowWorker(gateways[0]!, 'tiers', 10, { default: 1, tiers: [{ tier: 'gold', limit: 3 }] }, 200);
    await sleep(200);
    await gqlData(gateways[0]!.graphqlUrl, tenant.token, SEND_JOBS, {
      queue: 'tiers',
      jobs: [
        ...Array.from({ length: 6 }, () => ({ data: {}, options: { groupId: 'acme', groupTier: 'gold' } })),
        ...Array.from({ length: 3 }, () => ({ data: {}, options: { groupId: 'basic' } })),
      ],
    });
    const peak: Record<string, number> = {};
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      for (const [group, n] of Object.entries(await activeByGroup('tiers'))) peak[group] = Math.max(peak[group] ?? 0, n);
      const done = await completedByGroup('tiers');
      if (done.acme === 6 && done.basic === 3) break;
      await sleep(10);
    }
    expect(await completedByGroup('tiers')).toEqual({ acme: 6, basic: 3 });
    expect(peak.acme).toBeLessThanOrEqual(3);
    expect(peak.acme).toBeGreaterThan(1);
    expect(peak.basic).toBe(1);
    expect(tiered.errors).toEqual([]);
    tiered.stop();
  });
});
