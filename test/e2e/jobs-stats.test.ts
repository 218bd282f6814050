import { beforeAll, describe, expect, it } from '@jest/globals';
import { createTestTenant, issueExtraToken } from '../support/gateway.ts';
import { apiFor, useJobsFixture, type Api } from '../support/jobs.ts';

const COUNTS = 'queueCount queuedCount deferredCount activeCount completedCount failedCount cancelledCount totalCount';
const GLOBAL_STATS = `{ globalStats { tenantCount ${COUNTS} tenants { tenantId tenantName ${COUNTS} } } }`;

type Counts = Record<
  'queueCount' | 'queuedCount' | 'deferredCount' | 'activeCount' | 'completedCount' | 'failedCount' | 'cancelledCount' | 'totalCount',
  number
>;
interface GlobalStats extends Counts {
  tenantCount: number;
  tenants: (Counts & { tenantId: string; tenantName: string | null })[];
}

const f = useJobsFixture();
let admin: Api;
let second: { id: string; name: string; api: Api };

beforeAll(async () => {
  const operator = await createTestTenant(f.gateway, ['ADMIN']);
  admin = apiFor(f.gateway, operator.token);
  const other = await createTestTenant(f.gateway, ['PUBLISH']);
  second = { id: other.tenant.id, name: other.tenant.name, api: apiFor(f.gateway, other.token) };
});

describe('globalStats', () => {
  it('is refused (FORBIDDEN) to tokens without ADMIN', async () => {
    expect(await f.api.errorCode(GLOBAL_STATS)).toBe('FORBIDDEN');
    const everythingButAdmin = await issueExtraToken(f.gateway, f.tenant.tenant.id, ['PUBLISH', 'READ', 'WORK']);
    expect(await apiFor(f.gateway, everythingButAdmin.token).errorCode(GLOBAL_STATS)).toBe('FORBIDDEN');
  });

  it('gives an ADMIN token per-tenant counts matching what each tenant sent', async () => {
    // Tenant one: two queues, jobs in every state.
    const mail = f.queueName('mail');
    const sms = f.queueName('sms');
    const send = (queue: string, options?: object) => f.api.sendJob(queue, { to: 'x' }, options);
    await send(mail);
    await send(mail);
    await send(sms, { delaySeconds: 3600 });
    const toCancel = await send(sms);
    await f.api.data('mutation ($queue: String!, $id: ID!) { cancelJob(queue: $queue, id: $id) { id } }', { queue: sms, id: toCancel });
    for (const outcome of ['active', 'completed', 'failed'] as const) {
      const id = await send(mail, { priority: 100, retryLimit: 0 });
      const [job] = await f.boss.fetch(f.qualified(mail));
      expect(job?.id).toBe(id);
      if (outcome === 'completed') await f.boss.complete(f.qualified(mail), id);
      if (outcome === 'failed') await f.boss.fail(f.qualified(mail), id);
    }
    // Tenant two: one queue, two jobs.
    const reports = `reports-${second.id}`;
    await second.api.sendJob(reports, { n: 1 });
    await second.api.sendJob(reports, { n: 2 });

    const { globalStats } = await admin.data<{ globalStats: GlobalStats }>(GLOBAL_STATS);

    const mine = globalStats.tenants.find((tenant) => tenant.tenantId === f.tenant.tenant.id);
    expect(mine).toEqual({
      tenantId: f.tenant.tenant.id,
      tenantName: f.tenant.tenant.name,
      queueCount: 2,
      queuedCount: 3,
      deferredCount: 1,
      activeCount: 1,
      completedCount: 1,
      failedCount: 1,
      cancelledCount: 1,
      totalCount: 7,
    });
    // The same as pg-boss holds under the tenant's prefix.
    expect(await f.tables.countUnder(f.qualified(''))).toMatchObject({ jobs: 7, queues: 2 });

    expect(globalStats.tenants.find((tenant) => tenant.tenantId === second.id)).toMatchObject({
      tenantName: second.name,
      queueCount: 1,
      queuedCount: 2,
      totalCount: 2,
      activeCount: 0,
    });

    // The totals are the sum over tenants.
    expect(globalStats.tenantCount).toBe(globalStats.tenants.length);
    for (const key of ['queueCount', 'queuedCount', 'deferredCount', 'activeCount', 'completedCount', 'failedCount', 'cancelledCount', 'totalCount'] as const) {
      expect([key, globalStats[key]]).toEqual([key, globalStats.tenants.reduce((sum, tenant) => sum + tenant[key], 0)]);
    }
    expect(globalStats.totalCount).toBeGreaterThanOrEqual(9);
  });
});
