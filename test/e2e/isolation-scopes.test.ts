/**
 * Adversarial isolation, scope side: what the attacker's narrower tokens and
 * the ADMIN-only field give away. A scope refusal (FORBIDDEN) is about the
 * token, never about what exists: it must read the same on the victim's
 * names and ids as on names nobody used, and write nothing anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestTenant, issueExtraToken, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import {
  DOCS,
  YEARLY_CRON,
  apiSnapshot,
  caller,
  dbSnapshot,
  diffSnapshots,
  errorCodes,
  freshName,
  leaksIn,
  normalise,
  randomUUID,
  seedVictim,
  startIsolationGateway,
  type DbSnapshot,
  type GqlResponse,
  type RecordedCall,
  type SeededWorld,
} from '../support/isolation.ts';
import { useOutsideBoss } from '../support/jobs.ts';

const LONG = 60_000;

let gateway: TestGateway;
const db = useTestClient();
const boss = useOutsideBoss();
let victim: SeededWorld;
let attacker: TestTenant;
let admin: TestTenant;
let A: string;
let B: string;
const calls: RecordedCall[] = [];
let asB: ReturnType<typeof caller>;
let asBReadOnly: ReturnType<typeof caller>;
let asBPublishOnly: ReturnType<typeof caller>;
let victimApiBefore: unknown;
let victimDbBefore: DbSnapshot;

beforeAll(async () => {
  gateway = await startIsolationGateway();
  victim = await seedVictim(gateway, await createTestTenant(gateway, ['PUBLISH', 'READ', 'WORK']), boss);
  attacker = await createTestTenant(gateway, ['PUBLISH', 'READ', 'WORK']);
  admin = await createTestTenant(gateway, ['ADMIN']);
  A = victim.tenant.tenant.id;
  B = attacker.tenant.id;
  asB = caller(gateway.graphqlUrl, attacker.token, calls);
  asBReadOnly = caller(gateway.graphqlUrl, (await issueExtraToken(gateway, B, ['READ'])).token, calls);
  asBPublishOnly = caller(gateway.graphqlUrl, (await issueExtraToken(gateway, B, ['PUBLISH'])).token, calls);
  // B owns one queue with one job, so refusals are also tried on something that exists for B.
  const sent = await asB(DOCS.sendJob, { queue: 'b-own', data: { by: 'B' } });
  expect(sent.body.errors).toBeUndefined();
  victimApiBefore = await apiSnapshot(gateway, victim);
  victimDbBefore = await dbSnapshot(db, A);
}, LONG);

afterAll(async () => {
  await gateway?.stop();
});

interface Target {
  queue: string;
  id: string;
}

/** Every mutation of the schema, as a READ-only token would try it. */
const MUTATIONS: [string, string, (t: Target) => Record<string, unknown>][] = [
  ['createQueue', DOCS.createQueue, (t) => ({ name: t.queue, options: { deadLetter: `${t.queue}/dead` } })],
  ['updateQueue', DOCS.updateQueue, (t) => ({ name: t.queue, options: { retryLimit: 9 } })],
  ['deleteQueue', DOCS.deleteQueue, (t) => ({ name: t.queue })],
  ['sendJob', DOCS.sendJob, (t) => ({ queue: t.queue, data: { by: 'B' }, options: { deadLetter: 'emails/dead' } })],
  ['sendJob(id)', DOCS.sendJob, (t) => ({ queue: t.queue, data: { by: 'B' }, options: { id: t.id } })],
  ['sendJobs', DOCS.sendJobs, (t) => ({ queue: t.queue, jobs: [{ data: { by: 'B' } }] })],
  ['scheduleJob', DOCS.scheduleJob, (t) => ({ queue: t.queue, cron: YEARLY_CRON, options: { key: 'nightly' } })],
  ['unscheduleJob', DOCS.unscheduleJob, (t) => ({ queue: t.queue, key: 'nightly' })],
  ['cancelJob', DOCS.cancelJob, (t) => ({ queue: t.queue, id: t.id })],
  ['resumeJob', DOCS.resumeJob, (t) => ({ queue: t.queue, id: t.id })],
  ['retryJob', DOCS.retryJob, (t) => ({ queue: t.queue, id: t.id })],
  ['deleteJob', DOCS.deleteJob, (t) => ({ queue: t.queue, id: t.id })],
  ['removeJob', DOCS.removeJob, (t) => ({ queue: t.queue, id: t.id })],
  ['completeJob', DOCS.completeJob, (t) => ({ queue: t.queue, id: t.id, output: {} })],
  ['failJob', DOCS.failJob, (t) => ({ queue: t.queue, id: t.id, error: 'x' })],
  ['touchJob', DOCS.touchJob, (t) => ({ queue: t.queue, id: t.id })],
  ['cancelJobs', DOCS.cancelJobs, (t) => ({ queue: t.queue, ids: [t.id] })],
  ['resumeJobs', DOCS.resumeJobs, (t) => ({ queue: t.queue, ids: [t.id] })],
  ['retryJobs', DOCS.retryJobs, (t) => ({ queue: t.queue, ids: [t.id] })],
  ['deleteJobs', DOCS.deleteJobs, (t) => ({ queue: t.queue, ids: [t.id] })],
  ['completeJobs', DOCS.completeJobs, (t) => ({ queue: t.queue, ids: [t.id], output: {} })],
  [
    'sendFlow',
    DOCS.sendFlow,
    (t) => ({
      jobs: [
        { ref: 'a', queue: t.queue, data: {} },
        { ref: 'b', queue: t.queue, data: {}, dependsOn: ['a'] },
      ],
    }),
  ],
  ['subscribeQueue', DOCS.subscribeQueue, (t) => ({ topic: 'orders', queue: t.queue })],
  ['unsubscribeQueue', DOCS.unsubscribeQueue, (t) => ({ topic: 'orders', queue: t.queue })],
  ['publish', DOCS.publish, () => ({ topic: 'orders', data: { by: 'B' } })],
  ['redriveJobs', DOCS.redriveJobs, (t) => ({ queue: t.queue, options: { ids: [t.id] } })],
  ['deleteQueuedJobs', DOCS.deleteQueuedJobs, (t) => ({ queue: t.queue })],
  ['deleteStoredJobs', DOCS.deleteStoredJobs, (t) => ({ queue: t.queue })],
  ['deleteAllJobs', DOCS.deleteAllJobs, (t) => ({ queue: t.queue })],
  ['updateJob', DOCS.updateJob, (t) => ({ queue: t.queue, id: t.id, data: { by: 'B' } })],
  ['upsertJob', DOCS.upsertJob, (t) => ({ queue: t.queue, key: 'welcome', data: { by: 'B' } })],
];

const isForbidden = (response: GqlResponse) =>
  JSON.stringify(errorCodes(response)) === '["FORBIDDEN"]' && Object.values(response.body.data ?? {}).every((value) => value === null);

describe('a READ-only token of B', () => {
  it(
    "cannot write anything: FORBIDDEN, the same on A's names and ids as on B's own and on unused ones",
    async () => {
      const bOwnJob = (await asB(DOCS.jobs, { queue: 'b-own' })).body.data?.jobs.nodes[0].id as string;
      const beforeB = await dbSnapshot(db, B);
      const fresh: string[] = [];
      const problems: string[] = [];
      for (const [label, doc, vars] of MUTATIONS) {
        const targets: Target[] = [
          ...victim.jobs.map((job) => ({ queue: job.queue, id: job.id })),
          { queue: 'b-own', id: bOwnJob },
          { queue: `${A}/emails`, id: randomUUID() },
        ];
        const unused = { queue: freshName(), id: randomUUID() };
        fresh.push(unused.queue);
        const reference = normalise(await asBReadOnly(doc, vars(unused)), { [unused.queue]: '<queue>', [unused.id]: '<id>' });
        if (!isForbidden(reference as GqlResponse)) problems.push(`${label}: expected FORBIDDEN, got ${JSON.stringify(reference)}`);
        for (const t of targets) {
          const response = normalise(await asBReadOnly(doc, vars(t)), { [t.queue]: '<queue>', [t.id]: '<id>' });
          if (JSON.stringify(response) !== JSON.stringify(reference)) problems.push(`${label} on ${JSON.stringify(t)}: ${JSON.stringify(response)}`);
        }
      }
      expect(problems).toEqual([]);
      // Nothing written: B's own rows are as they were, and no refused name exists anywhere.
      expect(diffSnapshots(beforeB, await dbSnapshot(db, B))).toEqual([]);
      const created = await db.query('SELECT name FROM pgboss.queue WHERE split_part(name, $2, 2) = ANY($1)', [fresh, '/']);
      expect(created.rows).toEqual([]);
    },
    LONG,
  );

  it("still reads B's own queues (so the refusals above are about scope, not a broken token), and only B's", async () => {
    const response = await asBReadOnly(DOCS.queues);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.queues.map((q: { name: string }) => q.name)).toEqual(['b-own']);
    expect((await asBReadOnly(DOCS.schedules)).body).toEqual({ data: { schedules: [] } });
  });
});

describe('a PUBLISH-only token of B', () => {
  it(
    "cannot read A's (or anyone's) queues, jobs or schedules: FORBIDDEN, the same for A's names and ids as for unused ones",
    async () => {
      const reads: [string, string, (t: Target) => Record<string, unknown>][] = [
        ['queues', DOCS.queues, () => ({})],
        ['queue', DOCS.queue, (t) => ({ name: t.queue })],
        ['jobs', DOCS.jobs, (t) => ({ queue: t.queue })],
        ['job', DOCS.job, (t) => ({ queue: t.queue, id: t.id })],
        ['schedules', DOCS.schedules, (t) => ({ queue: t.queue })],
        ['job(flow fields)', DOCS.jobFlow, (t) => ({ queue: t.queue, id: t.id })],
        ['topics', DOCS.topics, () => ({})],
        ['previewRedrive', DOCS.previewRedrive, (t) => ({ queue: t.queue })],
        ['findJobs', DOCS.findJobs, (t) => ({ queue: t.queue, singletonKey: 'welcome' })],
        ['blockedKeys', DOCS.blockedKeys, (t) => ({ queue: t.queue })],
      ];
      const problems: string[] = [];
      for (const [label, doc, vars] of reads) {
        const unused = { queue: freshName(), id: randomUUID() };
        const reference = normalise(await asBPublishOnly(doc, vars(unused)), { [unused.queue]: '<queue>', [unused.id]: '<id>' });
        if (!isForbidden(reference as GqlResponse)) problems.push(`${label}: expected FORBIDDEN, got ${JSON.stringify(reference)}`);
        for (const job of victim.jobs) {
          const response = normalise(await asBPublishOnly(doc, vars(job)), { [job.queue]: '<queue>', [job.id]: '<id>' });
          if (JSON.stringify(response) !== JSON.stringify(reference)) problems.push(`${label} on A's ${job.label}: ${JSON.stringify(response)}`);
        }
      }
      expect(problems).toEqual([]);
    },
    LONG,
  );
});

describe('globalStats', () => {
  it("is FORBIDDEN to every non-ADMIN token, A's own included, and the refusal carries no figures or tenant ids", async () => {
    const victimCall = caller(gateway.graphqlUrl, victim.tenant.token, calls);
    for (const ask of [asB, asBReadOnly, asBPublishOnly, victimCall]) {
      const response = await ask(DOCS.globalStats);
      expect(response.status).toBe(200);
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
      expect(response.body.data ?? null).toBeNull();
      const text = JSON.stringify(response.body);
      expect(text).not.toContain(A);
      expect(text).not.toContain(B);
      expect(text).not.toMatch(/Count/);
    }
  });

  it('answers an ADMIN token with every tenant (positive control: there is something to leak)', async () => {
    const response = await caller(gateway.graphqlUrl, admin.token)(DOCS.globalStats);
    expect(response.body.errors).toBeUndefined();
    const tenants = response.body.data?.globalStats.tenants as { tenantId: string; tenantName: string | null; queueCount: number; totalCount: number }[];
    expect(tenants.find((t) => t.tenantId === A)).toMatchObject({
      tenantName: victim.tenant.tenant.name,
      queueCount: victim.queueNames.length,
      totalCount: victim.jobs.length,
    });
    expect(tenants.find((t) => t.tenantId === B)).toMatchObject({ queueCount: 1, totalCount: 1 });
  });
});

describe('afterwards', () => {
  it(
    'A is unchanged, through its API and byte for byte in pg-boss',
    async () => {
      expect(await apiSnapshot(gateway, victim)).toEqual(victimApiBefore);
      expect(diffSnapshots(victimDbBefore, await dbSnapshot(db, A))).toEqual([]);
    },
    LONG,
  );

  it("nothing B's tokens received carries A's secret, tenant id, job ids or a tenant prefix", () => {
    // The victim's own refused globalStats call is in the log too; it must not carry anything either.
    expect(leaksIn(calls, victim, B)).toEqual([]);
  });
});
