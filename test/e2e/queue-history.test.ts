import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gqlData, gqlErrorCode } from '../support/clients.ts';
import { createTestTenant, issueExtraToken, startGateway, uniqueName, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { useOutsideBoss } from '../support/jobs.ts';
import { sendJobs as sendJobsAs } from '../support/operations.ts';

// Queue.history (the dashboard's charts): per-interval throughput and depth,
// computed from pg-boss's own job rows, for the caller's tenant only.

interface Point {
  at: string;
  created: number;
  completed: number;
  failed: number;
  cancelled: number;
  queued: number;
  active: number;
}

const HISTORY = `query($name: String!, $minutes: Int, $intervalSeconds: Int) {
  queue(name: $name) { history(minutes: $minutes, intervalSeconds: $intervalSeconds) { at created completed failed cancelled queued active } }
}`;

let gateway: TestGateway;
const boss = useOutsideBoss({ max: 2 });
const db = useTestClient();
let tenant: TestTenant;
let other: TestTenant;

async function history(who: TestTenant, name: string, minutes = 60, intervalSeconds = 60): Promise<Point[] | null> {
  const data = await gqlData<{ queue: { history: Point[] } | null }>(gateway.graphqlUrl, who.token, HISTORY, { name, minutes, intervalSeconds });
  return data.queue?.history ?? null;
}

const sendJobs = (who: TestTenant, queue: string, count: number) =>
  sendJobsAs(
    gateway,
    who.token,
    queue,
    Array.from({ length: count }, (_, i) => ({ data: { i }, options: { retryLimit: 0 } })),
  );

/**
 * Moves a job's timestamps back to whole minutes before `base` (plus a few
 * seconds), as if it had run then.
 */
async function backdate(
  who: TestTenant,
  queue: string,
  id: string,
  base: Date,
  minutes: { created: number; started?: number; completed?: number },
): Promise<void> {
  await db.query(
    `UPDATE pgboss.job SET
        created_on = $3::timestamptz - make_interval(mins => $4) + interval '10 seconds',
        start_after = $3::timestamptz - make_interval(mins => $4) + interval '10 seconds',
        started_on = CASE WHEN $5::int IS NULL THEN started_on ELSE $3::timestamptz - make_interval(mins => $5::int) + interval '20 seconds' END,
        completed_on = CASE WHEN $6::int IS NULL THEN completed_on ELSE $3::timestamptz - make_interval(mins => $6::int) + interval '30 seconds' END
      WHERE name = $1 AND id = $2`,
    [`${who.tenant.id}/${queue}`, id, base, minutes.created, minutes.started ?? null, minutes.completed ?? null],
  );
}

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
  other = await createTestTenant(gateway);
});

afterAll(async () => {
  await gateway?.stop();
});

describe('Queue.history', () => {
  it('counts created, completed, failed and cancelled jobs per interval and rewinds the depth', async () => {
    const queue = uniqueName('hist');
    const name = `${tenant.tenant.id}/${queue}`;
    const sent = await sendJobs(tenant, queue, 5);
    // a: created 30 min ago, started 12, completed 10. b: created 30, started 12, failed 5 min ago.
    // c: created 30, still active since 12 (within its 15 min expiry). d: created 15, cancelled 2 min
    // ago without starting. e: created 15, still waiting. (One insert: which three a fetch takes is pg-boss's choice.)
    const taken = await boss.fetch(name, { batchSize: 3 });
    const [a, b, c] = taken.map((job) => job.id);
    const [d, e] = sent.filter((id) => !taken.some((job) => job.id === id));
    expect([a, b, c, d, e].sort()).toEqual([...sent].sort());
    await boss.complete(name, a!, { ok: true });
    await boss.fail(name, b!, { message: 'no' });
    await boss.cancel(name, d!);
    const { rows } = await db.query<{ base: Date }>(`SELECT date_bin('1 minute', now(), 'epoch') AS base`);
    const base = rows[0]!.base;
    await backdate(tenant, queue, a!, base, { created: 30, started: 12, completed: 10 });
    await backdate(tenant, queue, b!, base, { created: 30, started: 12, completed: 5 });
    await backdate(tenant, queue, c!, base, { created: 30, started: 12 });
    await backdate(tenant, queue, d!, base, { created: 15, completed: 2 });
    await backdate(tenant, queue, e!, base, { created: 15 });

    const points = (await history(tenant, queue))!;
    expect(points).toHaveLength(60);
    // Oldest first, one minute apart, the last one holding now.
    const times = points.map((p) => Date.parse(p.at));
    expect(times.every((t, i) => i === 0 || t - times[i - 1]! === 60_000)).toBe(true);
    expect(Date.now() - times.at(-1)!).toBeLessThan(60_000 + 5_000);
    // By time, not by position: the minute may have turned since `base`.
    const ago = (minutes: number) => {
      const point = points.find((p) => Date.parse(p.at) === base.getTime() - minutes * 60_000);
      if (!point) throw new Error(`no interval ${minutes} min before ${base.toISOString()}`);
      return point;
    };

    expect(ago(30)).toMatchObject({ created: 3, queued: 3, active: 0 });
    expect(ago(15)).toMatchObject({ created: 2, queued: 5, active: 0 });
    expect(ago(12)).toMatchObject({ created: 0, queued: 2, active: 3 });
    expect(ago(10)).toMatchObject({ completed: 1, queued: 2, active: 2 });
    expect(ago(5)).toMatchObject({ failed: 1, queued: 2, active: 1 });
    expect(ago(2)).toMatchObject({ cancelled: 1, queued: 1, active: 1 });
    expect(ago(0)).toMatchObject({ created: 0, queued: 1, active: 1 });
    const totals = points.reduce((sum, p) => ({ created: sum.created + p.created, completed: sum.completed + p.completed, failed: sum.failed + p.failed }), {
      created: 0,
      completed: 0,
      failed: 0,
    });
    expect(totals).toEqual({ created: 5, completed: 1, failed: 1 });
    // Before anything happened the queue was empty.
    expect(ago(45)).toMatchObject({ created: 0, queued: 0, active: 0 });
  });

  it('honours the window and the interval', async () => {
    const queue = uniqueName('hist-window');
    await sendJobs(tenant, queue, 2);
    const points = (await history(tenant, queue, 10, 30))!;
    expect(points).toHaveLength(20);
    expect(points.reduce((sum, p) => sum + p.created, 0)).toBe(2);
    expect(points.at(-1)).toMatchObject({ queued: 2 });
  });

  it("is the caller's tenant's only: the same queue name of another tenant is not mixed in, and an unknown queue is null", async () => {
    const queue = uniqueName('shared-name');
    await sendJobs(tenant, queue, 3);
    await sendJobs(other, queue, 1);
    const mine = (await history(tenant, queue))!;
    const theirs = (await history(other, queue))!;
    expect(mine.reduce((sum, p) => sum + p.created, 0)).toBe(3);
    expect(theirs.reduce((sum, p) => sum + p.created, 0)).toBe(1);
    expect(await history(other, uniqueName('only-mine'))).toBeNull();
    const onlyMine = uniqueName('only-mine');
    await sendJobs(tenant, onlyMine, 1);
    expect(await history(other, onlyMine)).toBeNull();
  });

  it('needs READ, and refuses windows it cannot draw', async () => {
    const queue = uniqueName('hist-scope');
    await sendJobs(tenant, queue, 1);
    const workOnly = await issueExtraToken(gateway, tenant.tenant.id, ['WORK']);
    expect(await gqlErrorCode(gateway.graphqlUrl, workOnly.token, HISTORY, { name: queue })).toBe('FORBIDDEN');
    for (const variables of [{ minutes: 0 }, { minutes: 1441 }, { intervalSeconds: 5 }, { intervalSeconds: 3601 }, { minutes: 1440, intervalSeconds: 10 }]) {
      expect(await gqlErrorCode(gateway.graphqlUrl, tenant.token, HISTORY, { name: queue, ...variables })).toBe('BAD_USER_INPUT');
    }
  });
});
