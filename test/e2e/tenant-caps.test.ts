import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpGraphql, wsClient } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';

// The defaults are 1,000 queues and 1,000 schedules a tenant: small caps reach them in a few requests.
const MAX_QUEUES = 5;
const MAX_SCHEDULES = 3;

let gateway: TestGateway;
const sql = useTestClient();

beforeAll(async () => {
  gateway = await startGateway({ tenantMaxQueues: MAX_QUEUES, tenantMaxSchedules: MAX_SCHEDULES });
});

afterAll(async () => {
  await gateway.stop();
});

const CREATE = 'mutation($name: String!) { createQueue(name: $name) { name } }';
const SEND = 'mutation($queue: String!, $options: JobOptionsInput) { sendJob(queue: $queue, data: {}, options: $options) { id } }';
const SCHEDULE = 'mutation($queue: String!, $key: String) { scheduleJob(queue: $queue, cron: "0 * * * *", options: { key: $key }) { key } }';

async function queueNames(tenant: TestTenant): Promise<string[]> {
  const { rows } = await sql.query<{ name: string }>('SELECT name FROM pgboss.queue WHERE starts_with(name, $1) ORDER BY name', [`${tenant.tenant.id}/`]);
  return rows.map((row) => row.name.slice(tenant.tenant.id.length + 1));
}

async function jobCount(tenant: TestTenant): Promise<number> {
  const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pgboss.job WHERE starts_with(name, $1)', [`${tenant.tenant.id}/`]);
  return rows[0]!.n;
}

/** A tenant with `count` queues q0, q1, …, made with createQueue. */
async function tenantWithQueues(count: number): Promise<TestTenant> {
  const tenant = await createTestTenant(gateway);
  for (let n = 0; n < count; n++) {
    const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, CREATE, { name: `q${n}` });
    expect(body.errors).toBeUndefined();
  }
  return tenant;
}

const QUEUE_CAP = { code: 'QUOTA_EXCEEDED', limit: 'queues', max: MAX_QUEUES };

describe('queues per tenant', () => {
  it('refuses createQueue past the cap with QUOTA_EXCEEDED, creating nothing; another tenant is not affected', async () => {
    const tenant = await tenantWithQueues(MAX_QUEUES);
    const { status, body } = await httpGraphql(gateway.graphqlUrl, tenant.token, CREATE, { name: 'one-more' });
    expect(status).toBe(200);
    expect(body.errors?.[0]?.extensions).toEqual(QUEUE_CAP);
    expect(body.errors?.[0]?.message).toMatch(/JOBGATE_TENANT_MAX_QUEUES/);
    expect(await queueNames(tenant)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    const other = await createTestTenant(gateway);
    expect((await httpGraphql(gateway.graphqlUrl, other.token, CREATE, { name: 'one-more' })).body.errors).toBeUndefined();
  });

  it('refuses every implicit creation past the cap (send, batch, flow, dead letter, workAssigned), while existing queues work', async () => {
    const tenant = await tenantWithQueues(MAX_QUEUES);
    const refusals = [
      await httpGraphql(gateway.graphqlUrl, tenant.token, SEND, { queue: 'new' }),
      await httpGraphql(gateway.graphqlUrl, tenant.token, 'mutation { sendJobs(queue: "new", jobs: [{ data: {} }]) }'),
      await httpGraphql(
        gateway.graphqlUrl,
        tenant.token,
        'mutation { sendFlow(jobs: [{ ref: "a", queue: "q0", data: {} }, { ref: "b", queue: "new", data: {}, dependsOn: ["a"] }]) { id } }',
      ),
      await httpGraphql(gateway.graphqlUrl, tenant.token, SEND, { queue: 'q0', options: { deadLetter: 'new-dlq' } }),
      await httpGraphql(gateway.graphqlUrl, tenant.token, 'mutation { upsertJob(queue: "new", key: "k", data: {}) { inserted } }'),
    ];
    for (const refused of refusals) expect(refused.body.errors?.[0]?.extensions).toEqual(QUEUE_CAP);

    const worker = wsClient(gateway.wsUrl, { token: tenant.token });
    // An error result (`next`, then `complete`), as for any failed subscription.
    const workErrors = await new Promise<readonly { extensions?: unknown }[] | undefined>((resolve) => {
      worker.subscribe(
        { query: 'subscription { workAssigned(queues: ["q0", "new"]) { id } }' },
        { next: (result) => resolve(result.errors), error: () => resolve(undefined), complete: () => resolve(undefined) },
      );
    });
    await worker.dispose();
    expect(workErrors?.[0]?.extensions).toEqual(QUEUE_CAP);

    expect(await queueNames(tenant)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    expect(await jobCount(tenant)).toBe(0);
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, SEND, { queue: 'q0' })).body.errors).toBeUndefined();
    expect(await jobCount(tenant)).toBe(1);
  });

  it('makes room again when a queue is deleted', async () => {
    const tenant = await tenantWithQueues(MAX_QUEUES);
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, 'mutation { deleteQueue(name: "q4") }')).body.errors).toBeUndefined();
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, SEND, { queue: 'fresh' })).body.errors).toBeUndefined();
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, SEND, { queue: 'fresher' })).body.errors?.[0]?.extensions).toEqual(QUEUE_CAP);
  });

  it('holds the cap exactly under concurrent creates on one instance', async () => {
    const tenant = await createTestTenant(gateway);
    const results = await Promise.all(
      Array.from({ length: MAX_QUEUES * 3 }, (_, n) =>
        httpGraphql(gateway.graphqlUrl, tenant.token, n % 2 ? CREATE : SEND, n % 2 ? { name: `c${n}` } : { queue: `s${n}` }),
      ),
    );
    const refused = results.filter((r) => r.body.errors?.[0]?.extensions?.code === 'QUOTA_EXCEEDED');
    expect(results.length - refused.length).toBe(MAX_QUEUES);
    expect((await queueNames(tenant)).length).toBe(MAX_QUEUES);
  });
});

describe('schedules per tenant', () => {
  it('refuses a new schedule past the cap with QUOTA_EXCEEDED; replacing one, or after unscheduling, is fine', async () => {
    const tenant = await tenantWithQueues(2);
    for (let n = 0; n < MAX_SCHEDULES; n++) {
      const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, SCHEDULE, { queue: `q${n % 2}`, key: `k${n}` });
      expect(body.errors).toBeUndefined();
    }
    const refused = await httpGraphql(gateway.graphqlUrl, tenant.token, SCHEDULE, { queue: 'q0', key: 'another' });
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'QUOTA_EXCEEDED', limit: 'schedules', max: MAX_SCHEDULES });
    expect(refused.body.errors?.[0]?.message).toMatch(/JOBGATE_TENANT_MAX_SCHEDULES/);
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pgboss.schedule WHERE starts_with(name, $1)', [`${tenant.tenant.id}/`]);
    expect(rows[0]!.n).toBe(MAX_SCHEDULES);
    // The same queue and key replaces the schedule: not one more.
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, SCHEDULE, { queue: 'q0', key: 'k0' })).body.errors).toBeUndefined();
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, 'mutation { unscheduleJob(queue: "q0", key: "k0") }')).body.errors).toBeUndefined();
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, SCHEDULE, { queue: 'q0', key: 'another' })).body.errors).toBeUndefined();
  });
});
