/**
 * Adversarial tenant isolation (API.md, "Names and isolation").
 *
 * Tenant A (the victim) owns queues, jobs in every state and schedules.
 * Tenant B (the attacker, full PUBLISH/READ/WORK scopes) calls every query
 * and mutation of the schema on A's queue names, A's job ids and crafted
 * names. Everything B gets back must be exactly what it would get for
 * something that does not exist in its own namespace, and A's rows in
 * pg-boss must be byte-for-byte the same afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gqlData } from '../support/clients.ts';
import { createTestTenant, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import {
  ALL_STATES,
  DOCS,
  YEARLY_CRON,
  apiSnapshot,
  caller,
  dbSnapshot,
  diffSnapshots,
  errorCodes,
  foreignReferences,
  freshName,
  leaksIn,
  mapLimit,
  normalise,
  randomUUID,
  seedVictim,
  startIsolationGateway,
  withoutGeneratedIds,
  type DbSnapshot,
  type GqlResponse,
  type RecordedCall,
  type SeededWorld,
} from '../support/isolation.ts';
import { useOutsideBoss } from '../support/jobs.ts';

const LONG = 120_000;

let gateway: TestGateway;
const db = useTestClient();
const boss = useOutsideBoss();
let victim: SeededWorld;
let attacker: TestTenant;
let A: string; // victim tenant id
let B: string; // attacker tenant id
const bCalls: RecordedCall[] = [];
let asB: (query: string, variables?: Record<string, unknown>) => Promise<GqlResponse>;
let victimApiBefore: unknown;
let victimDbBefore: DbSnapshot;

beforeAll(async () => {
  gateway = await startIsolationGateway();
  victim = await seedVictim(gateway, await createTestTenant(gateway, ['PUBLISH', 'READ', 'WORK']), boss);
  attacker = await createTestTenant(gateway, ['PUBLISH', 'READ', 'WORK']);
  A = victim.tenant.tenant.id;
  B = attacker.tenant.id;
  asB = caller(gateway.graphqlUrl, attacker.token, bCalls);
  victimApiBefore = await apiSnapshot(gateway, victim);
  victimDbBefore = await dbSnapshot(db, A);
}, LONG);

afterAll(async () => {
  await gateway?.stop();
});

// ---- what B may call ----

interface Target {
  queue: string;
  id: string;
  key: string;
  /** A topic name (publish, subscriptions); the queue name when absent. */
  topic?: string;
  /** A singleton key (findJobs). */
  singletonKey?: string;
}

type Absent = 'null' | 'emptyPage' | 'emptyList' | 'notFound';

const topicOf = (t: Target) => t.topic ?? t.queue;

interface Op {
  op: string;
  field: string;
  doc: string;
  vars: (t: Target) => Record<string, unknown>;
  /** The answer for a queue that does not exist in the caller's namespace. */
  absent: Absent;
  /** Takes a job id (asked again on the caller's own queue of the same name). */
  byId?: 'single' | 'batch';
}

/** A constant extra id for batch calls: identical on both sides of each comparison. */
const OTHER_ID = randomUUID();

/** Every query and mutation that reads or acts on something that already exists (never creates). */
function probes(world: SeededWorld): Op[] {
  const single = (op: keyof typeof DOCS, extra: Record<string, unknown> = {}): Op => ({
    op,
    field: op,
    doc: DOCS[op],
    vars: (t) => ({ queue: t.queue, id: t.id, ...extra }),
    absent: 'notFound',
    byId: 'single',
  });
  const batch = (op: keyof typeof DOCS, label: string = op, ids: (t: Target) => string[] = (t) => [t.id], extra: Record<string, unknown> = {}): Op => ({
    op: label,
    field: op,
    doc: DOCS[op],
    vars: (t) => ({ queue: t.queue, ids: ids(t), ...extra }),
    absent: 'notFound',
    byId: 'batch',
  });
  return [
    { op: 'queue', field: 'queue', doc: DOCS.queue, vars: (t) => ({ name: t.queue }), absent: 'null' },
    { op: 'jobs', field: 'jobs', doc: DOCS.jobs, vars: (t) => ({ queue: t.queue, first: 100 }), absent: 'emptyPage' },
    { op: 'jobs(states)', field: 'jobs', doc: DOCS.jobs, vars: (t) => ({ queue: t.queue, states: [...ALL_STATES] }), absent: 'emptyPage' },
    { op: 'jobs(after: victim cursor)', field: 'jobs', doc: DOCS.jobs, vars: (t) => ({ queue: t.queue, after: world.cursor }), absent: 'emptyPage' },
    { op: 'job', field: 'job', doc: DOCS.job, vars: (t) => ({ queue: t.queue, id: t.id }), absent: 'null', byId: 'single' },
    { op: 'schedules', field: 'schedules', doc: DOCS.schedules, vars: (t) => ({ queue: t.queue }), absent: 'emptyList' },
    { op: 'updateQueue', field: 'updateQueue', doc: DOCS.updateQueue, vars: (t) => ({ name: t.queue, options: { retryLimit: 9 } }), absent: 'notFound' },
    {
      op: 'updateQueue(deadLetter)',
      field: 'updateQueue',
      doc: DOCS.updateQueue,
      vars: (t) => ({ name: t.queue, options: { deadLetter: 'emails/dead' } }),
      absent: 'notFound',
    },
    {
      op: 'updateQueue(deadLetter: null)',
      field: 'updateQueue',
      doc: DOCS.updateQueue,
      vars: (t) => ({ name: t.queue, options: { deadLetter: null } }),
      absent: 'notFound',
    },
    { op: 'deleteQueue', field: 'deleteQueue', doc: DOCS.deleteQueue, vars: (t) => ({ name: t.queue }), absent: 'notFound' },
    single('cancelJob'),
    single('resumeJob'),
    single('retryJob'),
    single('deleteJob'),
    single('completeJob', { output: { stolen: true } }),
    single('failJob', { error: 'stolen' }),
    single('touchJob'),
    batch('cancelJobs'),
    batch('resumeJobs'),
    batch('retryJobs'),
    batch('deleteJobs'),
    batch('completeJobs', 'completeJobs', (t) => [t.id], { output: { stolen: true } }),
    batch('cancelJobs', 'cancelJobs(mixed ids)', (t) => [t.id, OTHER_ID, 'not-a-uuid', t.id.toUpperCase()]),
    batch('deleteJobs', 'deleteJobs(no ids)', () => []),
    { op: 'unscheduleJob', field: 'unscheduleJob', doc: DOCS.unscheduleJob, vars: (t) => ({ queue: t.queue }), absent: 'notFound' },
    { op: 'unscheduleJob(key)', field: 'unscheduleJob', doc: DOCS.unscheduleJob, vars: (t) => ({ queue: t.queue, key: t.key }), absent: 'notFound' },
    { op: 'job(flow fields)', field: 'job', doc: DOCS.jobFlow, vars: (t) => ({ queue: t.queue, id: t.id }), absent: 'null', byId: 'single' },
    { op: 'findJobs', field: 'findJobs', doc: DOCS.findJobs, vars: (t) => ({ queue: t.queue, first: 100 }), absent: 'emptyPage' },
    {
      op: 'findJobs(singletonKey)',
      field: 'findJobs',
      doc: DOCS.findJobs,
      vars: (t) => ({ queue: t.queue, singletonKey: t.singletonKey ?? t.key }),
      absent: 'emptyPage',
    },
    {
      op: 'findJobs(data: victim secret)',
      field: 'findJobs',
      doc: DOCS.findJobs,
      vars: (t) => ({ queue: t.queue, data: { secret: world.secret }, states: [...ALL_STATES] }),
      absent: 'emptyPage',
    },
    {
      op: 'findJobs(after: victim cursor)',
      field: 'findJobs',
      doc: DOCS.findJobs,
      vars: (t) => ({ queue: t.queue, after: world.cursor }),
      absent: 'emptyPage',
    },
    { op: 'blockedKeys', field: 'blockedKeys', doc: DOCS.blockedKeys, vars: (t) => ({ queue: t.queue }), absent: 'notFound' },
    {
      op: 'blockedKeys(after)',
      field: 'blockedKeys',
      doc: DOCS.blockedKeys,
      vars: (t) => ({ queue: t.queue, after: t.singletonKey ?? t.key, first: 5 }),
      absent: 'notFound',
    },
    { op: 'previewRedrive', field: 'previewRedrive', doc: DOCS.previewRedrive, vars: (t) => ({ queue: t.queue }), absent: 'notFound' },
    {
      op: 'previewRedrive(ids, destination)',
      field: 'previewRedrive',
      doc: DOCS.previewRedrive,
      vars: (t) => ({ queue: t.queue, options: { ids: [t.id], destination: t.queue } }),
      absent: 'notFound',
    },
    { op: 'redriveJobs', field: 'redriveJobs', doc: DOCS.redriveJobs, vars: (t) => ({ queue: t.queue }), absent: 'notFound' },
    {
      op: 'redriveJobs(ids, sourceQueue)',
      field: 'redriveJobs',
      doc: DOCS.redriveJobs,
      vars: (t) => ({ queue: t.queue, options: { ids: [t.id], sourceQueue: 'emails' } }),
      absent: 'notFound',
    },
    { op: 'deleteQueuedJobs', field: 'deleteQueuedJobs', doc: DOCS.deleteQueuedJobs, vars: (t) => ({ queue: t.queue }), absent: 'notFound' },
    { op: 'deleteStoredJobs', field: 'deleteStoredJobs', doc: DOCS.deleteStoredJobs, vars: (t) => ({ queue: t.queue }), absent: 'notFound' },
    { op: 'deleteAllJobs', field: 'deleteAllJobs', doc: DOCS.deleteAllJobs, vars: (t) => ({ queue: t.queue }), absent: 'notFound' },
    single('updateJob', { data: { stolen: true }, options: { priority: 9, deadLetter: 'emails/dead' } }),
    { op: 'subscribeQueue', field: 'subscribeQueue', doc: DOCS.subscribeQueue, vars: (t) => ({ topic: topicOf(t), queue: t.queue }), absent: 'notFound' },
    { op: 'unsubscribeQueue', field: 'unsubscribeQueue', doc: DOCS.unsubscribeQueue, vars: (t) => ({ topic: topicOf(t), queue: t.queue }), absent: 'notFound' },
    { op: 'publish', field: 'publish', doc: DOCS.publish, vars: (t) => ({ topic: topicOf(t), data: { by: 'B' } }), absent: 'emptyList' },
  ];
}

/** Every mutation that creates something (in the caller's own namespace). */
function writes(): Op[] {
  return [
    { op: 'createQueue', field: 'createQueue', doc: DOCS.createQueue, vars: (t) => ({ name: t.queue }), absent: 'notFound' },
    { op: 'sendJob', field: 'sendJob', doc: DOCS.sendJob, vars: (t) => ({ queue: t.queue, data: { by: 'B' } }), absent: 'notFound' },
    { op: 'sendJobs', field: 'sendJobs', doc: DOCS.sendJobs, vars: (t) => ({ queue: t.queue, jobs: [{ data: { by: 'B' } }] }), absent: 'notFound' },
    {
      op: 'scheduleJob',
      field: 'scheduleJob',
      doc: DOCS.scheduleJob,
      vars: (t) => ({ queue: t.queue, cron: YEARLY_CRON, options: { key: t.key } }),
      absent: 'notFound',
    },
    {
      op: 'sendFlow',
      field: 'sendFlow',
      doc: DOCS.sendFlow,
      vars: (t) => ({
        jobs: [
          { ref: 'a', queue: t.queue, data: {} },
          { ref: 'b', queue: t.queue, data: {}, dependsOn: ['a'] },
        ],
      }),
      absent: 'notFound',
    },
    { op: 'upsertJob', field: 'upsertJob', doc: DOCS.upsertJob, vars: (t) => ({ queue: t.queue, key: t.key, data: { by: 'B' } }), absent: 'notFound' },
  ];
}

function absentProblem(op: Op, response: GqlResponse): string | null {
  const { data, errors } = response.body;
  const describe = () => `${op.op}: ${JSON.stringify(response.body).slice(0, 300)}`;
  switch (op.absent) {
    case 'null':
      return !errors && data?.[op.field] === null ? null : `expected null from ${describe()}`;
    case 'emptyList':
      return !errors && JSON.stringify(data?.[op.field]) === '[]' ? null : `expected [] from ${describe()}`;
    case 'emptyPage':
      return !errors && JSON.stringify(data?.[op.field]) === JSON.stringify({ nodes: [], pageInfo: { endCursor: null, hasNextPage: false } })
        ? null
        : `expected an empty page from ${describe()}`;
    case 'notFound':
      return JSON.stringify(errorCodes(response)) === '["NOT_FOUND"]' && (data ?? null) === null ? null : `expected NOT_FOUND from ${describe()}`;
  }
}

/** B's response to `op` on each target, normalised by the target's own name, id and key. */
async function normalisedResponses(op: Op, targets: readonly Target[]): Promise<unknown[]> {
  const responses = await mapLimit(targets, 4, (t) => asB(op.doc, op.vars(t)));
  return responses.map((response, index) => {
    const t = targets[index]!;
    return normalise(response, {
      ...(t.topic === undefined ? {} : { [t.topic]: '<topic>' }),
      ...(t.singletonKey === undefined ? {} : { [t.singletonKey]: '<singletonKey>' }),
      [t.queue]: '<queue>',
      [t.id]: '<id>',
      [t.id.toUpperCase()]: '<ID>',
      [t.key]: '<key>',
    });
  });
}

/** Compares B's answers across targets; each mismatch or unexpected answer is reported. */
async function indistinguishable(ops: readonly Op[], targets: readonly Target[], expectAbsent = true): Promise<string[]> {
  const problems: string[] = [];
  await mapLimit(ops, 3, async (op) => {
    const [first, ...others] = await normalisedResponses(op, targets);
    if (expectAbsent) {
      const problem = absentProblem(op, first as GqlResponse);
      if (problem) problems.push(`${problem} (target ${JSON.stringify(targets[0])})`);
    }
    others.forEach((other, index) => {
      if (JSON.stringify(other) !== JSON.stringify(first)) {
        problems.push(
          `${op.op} differs between ${JSON.stringify(targets[0])} and ${JSON.stringify(targets[index + 1])}:\n  ${JSON.stringify(first)}\n  ${JSON.stringify(other)}`,
        );
      }
    });
  });
  return problems;
}

/** Names a tenant can never use; the same refusal whether or not anything exists. */
function invalidNames(): string[] {
  return [
    '',
    ' ',
    '.',
    '..',
    '...',
    './emails',
    '../emails',
    `../${A}/emails`,
    `../${A}`,
    `${A}/../emails`,
    'emails/..',
    'emails/../reports/daily',
    'emails/./dead',
    '/',
    '//',
    '/emails',
    'emails/',
    'emails//dead',
    `/${A}/emails`,
    'emails/dead/',
    '%2F',
    'emails%2F..',
    `${A}%2Femails`,
    '%2E%2E/emails',
    'emails%00',
    '__pgboss__send-it',
    '__pgboss__cron',
    '_emails',
    '_',
    `_${A}/emails`,
    '-emails',
    '.emails',
    'emails/_dead',
    'emails/.dead',
    '\u0435mails',
    'ｅｍａｉｌｓ',
    'emails\u200b',
    'émails',
    'emails\u0301',
    `${A}/\u0435mails`,
    'a'.repeat(10_000),
    'a'.repeat(101),
    `${A}/${'x'.repeat(100 - A.length)}`,
    "emails'; DROP TABLE pgboss.job; --",
    'emails" OR 1=1',
    "emails' OR '1'='1",
    "'",
    '"',
    'emails;',
    'emails\\',
    'emails*',
    'emails%',
    'emails?',
    'emails:dead',
    'emails dead',
    'emails\u0000',
    '\u0000',
    '\u0000emails',
    `${A}/emails\u0000`,
    'emails\n',
    '\nemails',
    'emails\r\n',
    'emails\ndead',
    'emails\t',
    ' emails',
    'emails ',
  ];
}

/** Valid names that look like A's or like a way out of B's namespace: all plain, empty names of B's own. */
function lookalikeNames(): string[] {
  return [
    `${A}/emails`,
    A,
    `${A}/reports/daily`,
    `${A}/emails/dead`,
    'Emails',
    'EMAILS',
    `${B}/emails`,
    'emails/dead/x',
    'pgboss',
    `pgboss/${A}`,
    'x'.repeat(100),
  ];
}

/** BAD_USER_INPUT and nothing else: no data (a nullable field is null). */
const isBadInput = (response: GqlResponse) =>
  JSON.stringify(errorCodes(response)) === '["BAD_USER_INPUT"]' && Object.values(response.body.data ?? {}).every((value) => value === null);

describe('B on names and ids of A while B owns nothing', () => {
  it('sanity: the victim has queues, jobs in every state and schedules', async () => {
    const states = new Set(victim.jobs.map((job) => job.state));
    expect([...states].sort()).toEqual(['active', 'cancelled', 'completed', 'created', 'failed', 'retry']);
    for (const job of victim.jobs) {
      const { job: seen } = await gqlData(gateway.graphqlUrl, victim.tenant.token, DOCS.job, { queue: job.queue, id: job.id });
      expect(seen).toMatchObject({ id: job.id, queue: job.queue, state: job.state.toUpperCase() });
    }
    expect(victim.jobs.filter((job) => job.label === 'dead-lettered')).toHaveLength(1);
    const { schedules } = await gqlData(gateway.graphqlUrl, victim.tenant.token, DOCS.schedules);
    expect(schedules.map((s: { queue: string; key: string }) => [s.queue, s.key])).toEqual([
      ['emails', ''],
      ['reports/daily', 'nightly'],
    ]);
  });

  it(
    "every query and mutation on A's queue and A's job id answers like a never-used queue and a random id",
    async () => {
      const problems: string[] = [];
      for (const job of victim.jobs) {
        const real: Target = { queue: job.queue, id: job.id, key: 'nightly', topic: 'orders', singletonKey: 'acct-1' };
        problems.push(
          ...(await indistinguishable(probes(victim), [
            real,
            { queue: freshName(), id: randomUUID(), key: 'never-used-key', topic: freshName('topic'), singletonKey: 'never-key' },
            { queue: job.queue, id: randomUUID(), key: 'never-used-key', topic: freshName('topic'), singletonKey: 'never-key' },
            { queue: freshName(), id: job.id, key: 'nightly', topic: 'orders', singletonKey: 'acct-1' },
          ])),
        );
      }
      expect(problems).toEqual([]);
    },
    LONG,
  );

  it(
    "valid names that embed A's tenant id, or look like A's, are empty names of B's own",
    async () => {
      const problems: string[] = [];
      const job = victim.jobs[0]!;
      for (const name of lookalikeNames()) {
        problems.push(
          ...(await indistinguishable(probes(victim), [
            { queue: name, id: job.id, key: 'nightly' },
            { queue: freshName(), id: randomUUID(), key: 'never-used-key' },
          ])),
        );
      }
      expect(problems).toEqual([]);
    },
    LONG,
  );

  it(
    'crafted invalid names get the same BAD_USER_INPUT from every operation, existing or not, and write nothing',
    async () => {
      const problems: string[] = [];
      const job = victim.jobs[0]!;
      const names = invalidNames();
      for (const op of [...probes(victim), ...writes()]) {
        const responses = await mapLimit(names, 6, (name, index) =>
          asB(op.doc, op.vars({ queue: name, id: index % 2 ? job.id : randomUUID(), key: 'nightly' })),
        );
        const reference = JSON.stringify(responses[0]);
        responses.forEach((response, index) => {
          if (!isBadInput(response))
            problems.push(
              `${op.op}(${JSON.stringify(names[index]).slice(0, 80)}): expected BAD_USER_INPUT, got ${JSON.stringify(response.body).slice(0, 300)}`,
            );
          else if (JSON.stringify(response) !== reference)
            problems.push(`${op.op}(${JSON.stringify(names[index]).slice(0, 80)}) differs from ${JSON.stringify(names[0])}: ${JSON.stringify(response.body)}`);
        });
      }
      expect(problems).toEqual([]);
      const mine = await dbSnapshot(db, B);
      expect(mine.queues).toEqual([]);
      expect(mine.jobs).toEqual([]);
      expect(mine.schedules).toEqual([]);
    },
    LONG,
  );
});

describe('crafted values in options, keys and payloads', () => {
  let before: DbSnapshot;

  beforeAll(async () => {
    const created = await asB(DOCS.createQueue, { name: 'b-own' });
    expect(created.body.errors).toBeUndefined();
    before = await dbSnapshot(db, B);
  });

  it(
    'invalid dead letter names (and redrive destinations) are refused everywhere with BAD_USER_INPUT, without writing anything',
    async () => {
      const problems: string[] = [];
      const flow = (dl: string) => ({
        jobs: [
          { ref: 'a', queue: freshName(), data: {} },
          { ref: 'b', queue: freshName(), data: {}, options: { deadLetter: dl }, dependsOn: ['a'] },
        ],
      });
      const calls: [string, string, (dl: string) => Record<string, unknown>, string?][] = [
        ['createQueue', DOCS.createQueue, (dl) => ({ name: freshName(), options: { deadLetter: dl } })],
        ['createQueue(A name)', DOCS.createQueue, (dl) => ({ name: 'emails', options: { deadLetter: dl } })],
        ['updateQueue', DOCS.updateQueue, (dl) => ({ name: 'b-own', options: { deadLetter: dl } })],
        ['sendJob', DOCS.sendJob, (dl) => ({ queue: 'b-own', data: {}, options: { deadLetter: dl } })],
        ['sendJob(new queue)', DOCS.sendJob, (dl) => ({ queue: freshName(), data: {}, options: { deadLetter: dl } })],
        ['sendJobs', DOCS.sendJobs, (dl) => ({ queue: freshName(), jobs: [{ data: {} }, { data: {}, options: { deadLetter: dl } }] })],
        ['scheduleJob', DOCS.scheduleJob, (dl) => ({ queue: freshName(), cron: YEARLY_CRON, options: { deadLetter: dl, key: 'dl' } })],
        ['sendFlow', DOCS.sendFlow, flow],
        ['publish', DOCS.publish, (dl) => ({ topic: 'orders', data: {}, options: { deadLetter: dl } })],
        ['updateJob', DOCS.updateJob, (dl) => ({ queue: 'b-own', id: victim.jobs[0]!.id, data: {}, options: { deadLetter: dl } })],
        ['upsertJob', DOCS.upsertJob, (dl) => ({ queue: freshName(), key: 'welcome', data: {}, options: { deadLetter: dl } })],
        ['upsertJob(own queue)', DOCS.upsertJob, (dl) => ({ queue: 'b-own', key: 'welcome', data: {}, options: { deadLetter: dl } })],
        ['redriveJobs(destination)', DOCS.redriveJobs, (dl) => ({ queue: 'b-own', options: { destination: dl } }), 'destination'],
        ['redriveJobs(sourceQueue)', DOCS.redriveJobs, (dl) => ({ queue: 'b-own', options: { sourceQueue: dl } }), 'sourceQueue'],
        ['previewRedrive(destination)', DOCS.previewRedrive, (dl) => ({ queue: 'b-own', options: { destination: dl } }), 'destination'],
        ['previewRedrive(sourceQueue)', DOCS.previewRedrive, (dl) => ({ queue: 'b-own', options: { sourceQueue: dl } }), 'sourceQueue'],
      ];
      for (const [label, doc, vars, expected = 'deadLetter'] of calls) {
        const responses = await mapLimit(invalidNames(), 6, (name) => asB(doc, vars(name)));
        const reference = JSON.stringify(responses[0]);
        responses.forEach((response, index) => {
          const argument = response.body.errors?.[0]?.extensions?.argument;
          if (!isBadInput(response) || argument !== expected) {
            problems.push(`${label} ${expected} ${JSON.stringify(invalidNames()[index]).slice(0, 60)}: ${JSON.stringify(response.body).slice(0, 300)}`);
          } else if (JSON.stringify(response) !== reference) {
            problems.push(`${label} ${expected} ${JSON.stringify(invalidNames()[index]).slice(0, 60)} differs from ${JSON.stringify(invalidNames()[0])}`);
          }
        });
      }
      expect(problems).toEqual([]);
      expect(diffSnapshots(before, await dbSnapshot(db, B))).toEqual([]);
    },
    LONG,
  );

  const BAD_KEYS = [
    '',
    'a'.repeat(256),
    'a'.repeat(10_000),
    "nightly'; DROP TABLE pgboss.schedule; --",
    'nightly" OR 1=1',
    'nightly\u0000',
    '\u0000',
    'nightly\n',
    'n\u0456ghtly',
    '%2F',
    'night ly',
  ];

  it(
    "invalid schedule keys are BAD_USER_INPUT for scheduleJob and unscheduleJob alike, on A's queue, a new one or B's own",
    async () => {
      const problems: string[] = [];
      for (const key of BAD_KEYS) {
        for (const op of [
          {
            op: 'scheduleJob',
            field: 'scheduleJob',
            doc: DOCS.scheduleJob,
            vars: (t: Target) => ({ queue: t.queue, cron: YEARLY_CRON, options: { key: t.key } }),
            absent: 'notFound' as const,
          },
          {
            op: 'unscheduleJob',
            field: 'unscheduleJob',
            doc: DOCS.unscheduleJob,
            vars: (t: Target) => ({ queue: t.queue, key: t.key }),
            absent: 'notFound' as const,
          },
        ]) {
          const targets: Target[] = [
            { queue: 'reports/daily', id: randomUUID(), key },
            { queue: freshName(), id: randomUUID(), key },
            { queue: 'b-own', id: randomUUID(), key },
          ];
          const responses = await normalisedResponses(op, targets);
          responses.forEach((response, index) => {
            if (!isBadInput(response as GqlResponse))
              problems.push(`${op.op} key ${JSON.stringify(key).slice(0, 40)} on ${targets[index]!.queue}: ${JSON.stringify(response).slice(0, 300)}`);
            else if (JSON.stringify(response) !== JSON.stringify(responses[0]))
              problems.push(`${op.op} key ${JSON.stringify(key).slice(0, 40)}: answers differ`);
          });
        }
      }
      expect(problems).toEqual([]);
      expect(diffSnapshots(before, await dbSnapshot(db, B))).toEqual([]);
    },
    LONG,
  );

  it(
    'NUL bytes in any string argument are BAD_USER_INPUT, never an internal error, and write nothing',
    async () => {
      const NUL = 'x\u0000y';
      const cases: [string, string, Record<string, unknown>][] = [
        ['sendJob data', DOCS.sendJob, { queue: freshName(), data: { text: NUL } }],
        ['sendJob data key', DOCS.sendJob, { queue: 'b-own', data: { [NUL]: 1 } }],
        ['sendJob singletonKey', DOCS.sendJob, { queue: freshName(), data: {}, options: { singletonKey: NUL } }],
        ['sendJob groupId', DOCS.sendJob, { queue: freshName(), data: {}, options: { groupId: NUL } }],
        ['sendJob groupTier', DOCS.sendJob, { queue: freshName(), data: {}, options: { groupId: 'g', groupTier: NUL } }],
        ['sendJobs data', DOCS.sendJobs, { queue: freshName(), jobs: [{ data: {} }, { data: [NUL] }] }],
        ['sendJobs singletonKey', DOCS.sendJobs, { queue: freshName(), jobs: [{ data: {}, options: { singletonKey: NUL } }] }],
        ['scheduleJob cron', DOCS.scheduleJob, { queue: freshName(), cron: `${YEARLY_CRON}\u0000` }],
        ['scheduleJob tz', DOCS.scheduleJob, { queue: freshName(), cron: YEARLY_CRON, options: { tz: 'UTC\u0000' } }],
        ['scheduleJob data', DOCS.scheduleJob, { queue: freshName(), cron: YEARLY_CRON, data: { text: NUL } }],
        ['scheduleJob singletonKey', DOCS.scheduleJob, { queue: freshName(), cron: YEARLY_CRON, options: { singletonKey: NUL } }],
        ['completeJob output (string)', DOCS.completeJob, { queue: 'b-own', id: randomUUID(), output: NUL }],
        ['completeJob output (object)', DOCS.completeJob, { queue: 'emails', id: victim.jobs[0]!.id, output: { text: NUL } }],
        ['completeJobs output', DOCS.completeJobs, { queue: 'b-own', ids: [randomUUID()], output: NUL }],
        ['failJob error', DOCS.failJob, { queue: 'b-own', id: randomUUID(), error: NUL }],
        ['unscheduleJob key', DOCS.unscheduleJob, { queue: 'b-own', key: NUL }],
        ['job id', DOCS.job, { queue: 'b-own', id: NUL }],
        // Unpaired UTF-16 surrogates: jsonb refuses them like NUL (and text would silently mangle them).
        ['sendJob data (lone surrogate)', DOCS.sendJob, { queue: freshName(), data: { text: 'x\ud800y' } }],
        ['sendJob singletonKey (lone surrogate)', DOCS.sendJob, { queue: freshName(), data: {}, options: { singletonKey: '\udc00' } }],
        ['failJob error (lone surrogate)', DOCS.failJob, { queue: 'emails', id: victim.jobs[0]!.id, error: { text: '\ud800' } }],
        [
          'sendFlow data',
          DOCS.sendFlow,
          {
            jobs: [
              { ref: 'a', queue: freshName(), data: { text: NUL } },
              { ref: 'b', queue: freshName(), data: {}, dependsOn: ['a'] },
            ],
          },
        ],
        [
          'sendFlow singletonKey',
          DOCS.sendFlow,
          {
            jobs: [
              { ref: 'a', queue: freshName(), data: {} },
              { ref: 'b', queue: freshName(), data: {}, options: { singletonKey: NUL }, dependsOn: ['a'] },
            ],
          },
        ],
        ['subscribeQueue topic', DOCS.subscribeQueue, { topic: NUL, queue: 'b-own' }],
        ['publish topic', DOCS.publish, { topic: NUL, data: {} }],
        ['publish data', DOCS.publish, { topic: 'orders', data: { text: NUL } }],
        ['updateJob data', DOCS.updateJob, { queue: 'b-own', id: victim.jobs[0]!.id, data: { text: NUL } }],
        ['upsertJob key', DOCS.upsertJob, { queue: freshName(), key: NUL, data: {} }],
        ['upsertJob data', DOCS.upsertJob, { queue: freshName(), key: 'welcome', data: { text: NUL } }],
        ['findJobs singletonKey', DOCS.findJobs, { queue: 'emails', singletonKey: NUL }],
        ['findJobs data', DOCS.findJobs, { queue: 'emails', data: { secret: NUL } }],
        ['blockedKeys after', DOCS.blockedKeys, { queue: 'ledger', after: NUL }],
        ['previewRedrive data', DOCS.previewRedrive, { queue: 'emails/dead', options: { data: { text: NUL } } }],
        ['redriveJobs data', DOCS.redriveJobs, { queue: 'b-own', options: { data: { text: NUL } } }],
      ];
      const problems: string[] = [];
      for (const [label, doc, vars] of cases) {
        const response = await asB(doc, vars);
        // A NUL in an id names no job: null is the answer there (like any malformed id).
        const ok = label === 'job id' ? response.body.data?.job === null && !response.body.errors : isBadInput(response);
        if (!ok) problems.push(`${label}: ${JSON.stringify(response.body).slice(0, 300)}`);
      }
      expect(problems).toEqual([]);
      expect(diffSnapshots(before, await dbSnapshot(db, B))).toEqual([]);
    },
    LONG,
  );
});

describe('crafted cursors', () => {
  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it("a cursor that was never returned by the API is BAD_USER_INPUT, on A's queue name, a fresh one or B's own", async () => {
    const job = victim.jobs[0]!;
    const crafted = [
      'not-a-cursor',
      '',
      cursor([]),
      cursor(['2020-01-01 00:00:00+00', 'not-a-uuid']),
      cursor(['not a timestamp', job.id]),
      cursor(['2020-01-01 00:00:00+00\u0000', job.id]),
      cursor(["2020-01-01'; DROP TABLE pgboss.job; --", job.id]),
      cursor([1, job.id]),
      Buffer.from('\u0000').toString('base64url'),
    ];
    const problems: string[] = [];
    for (const after of crafted) {
      const responses = await Promise.all(['emails', freshName(), 'b-own'].map((queue) => asB(DOCS.jobs, { queue, after })));
      responses.forEach((response) => {
        if (!isBadInput(response)) problems.push(`after ${JSON.stringify(after)}: ${JSON.stringify(response.body).slice(0, 300)}`);
        else if (JSON.stringify(response) !== JSON.stringify(responses[0])) problems.push(`after ${JSON.stringify(after)}: answers differ`);
      });
    }
    expect(problems).toEqual([]);
  });

  it("A's real cursor, decoded and re-encoded with A's other ids, pages nothing of A's", async () => {
    const [created] = JSON.parse(Buffer.from(victim.cursor, 'base64url').toString('utf8')) as [string, string];
    for (const job of victim.jobs) {
      for (const queue of ['emails', 'b-own']) {
        const response = await asB(DOCS.jobs, { queue, after: cursor([created, job.id]) });
        expect(response.body).toEqual({ data: { jobs: { nodes: [], pageInfo: { endCursor: null, hasNextPage: false } } } });
      }
    }
  });
});

describe("B writing under names A uses creates B's own, separate objects", () => {
  /**
   * B's name → its control twin: a queue name B never used before the
   * twin's first write, which then gets exactly the same writes, so that both
   * are always in the same state in B's namespace.
   */
  const twins = new Map<string, string>();

  /** Runs the same write on A's name and on its twin; the answers must match once the names are swapped. */
  async function sameWrite(doc: string, varsFor: (queue: string, deadLetter: string) => Record<string, unknown>, queue: string, deadLetter = 'emails/dead') {
    const control = twins.get(queue) ?? freshName('ctl');
    const controlDeadLetter = twins.get(deadLetter) ?? `${control}-dead`;
    const mineVars = varsFor(queue, deadLetter);
    const mine = await asB(doc, mineVars);
    const theirs = await asB(doc, varsFor(control, controlDeadLetter));
    twins.set(queue, control);
    if (deadLetter !== queue && JSON.stringify(mineVars).includes(JSON.stringify(deadLetter))) twins.set(deadLetter, controlDeadLetter);
    const subs = (name: string, dl: string) => (name === dl ? { [name]: '<queue>' } : { [name]: '<queue>', [dl]: '<dl>' });
    const left = withoutGeneratedIds(normalise(mine, subs(queue, deadLetter)));
    const right = withoutGeneratedIds(normalise(theirs, subs(control, controlDeadLetter)));
    expect(left).toEqual(right);
    return mine;
  }

  it("createQueue under A's names succeeds like under fresh names, counts only B's jobs, and CONFLICT only concerns B's own", async () => {
    const dead = await sameWrite(DOCS.createQueue, (name) => ({ name }), 'emails/dead');
    expect(dead.body.data?.createQueue).toMatchObject({ name: 'emails/dead', totalCount: 0, queuedCount: 0 });
    const emails = await sameWrite(
      DOCS.createQueue,
      (name, deadLetter) => ({ name, options: { deadLetter, retryLimit: 1, expireInSeconds: 3600 } }),
      'emails',
      'emails/dead',
    );
    expect(emails.body.data?.createQueue).toMatchObject({ name: 'emails', deadLetter: 'emails/dead', totalCount: 0, activeCount: 0, completedCount: 0 });
    const digest = await sameWrite(DOCS.createQueue, (name) => ({ name, options: { policy: 'SHORT' } }), 'digest');
    expect(digest.body.data?.createQueue).toMatchObject({ name: 'digest', policy: 'SHORT', totalCount: 0 });
    const again = await sameWrite(DOCS.createQueue, (name) => ({ name }), 'emails');
    expect(errorCodes(again)).toEqual(['CONFLICT']);
    const prefixed = await sameWrite(DOCS.createQueue, (name) => ({ name }), `${A}/emails`);
    expect(prefixed.body.data?.createQueue).toMatchObject({ name: `${A}/emails`, totalCount: 0 });
    const { rows } = await db.query<{ name: string }>('SELECT name FROM pgboss.queue WHERE name = ANY($1) ORDER BY name', [
      [`${B}/emails`, `${B}/emails/dead`, `${B}/digest`, `${B}/${A}/emails`],
    ]);
    expect(rows.map((r) => r.name)).toEqual([`${B}/${A}/emails`, `${B}/digest`, `${B}/emails`, `${B}/emails/dead`].sort());
  });

  it("sendJob, sendJobs and scheduleJob under A's names behave like under fresh names", async () => {
    const sent = await sameWrite(DOCS.sendJob, (queue, deadLetter) => ({ queue, data: { by: 'B' }, options: { deadLetter, priority: 2 } }), 'emails');
    expect(sent.body.data?.sendJob).toMatchObject({ queue: 'emails', state: 'CREATED', data: { by: 'B' }, deadLetter: 'emails/dead' });
    const created = await sameWrite(DOCS.sendJob, (queue) => ({ queue, data: { by: 'B' } }), 'reports/daily');
    expect(created.body.data?.sendJob).toMatchObject({ queue: 'reports/daily', state: 'CREATED' });
    const batch = await sameWrite(DOCS.sendJobs, (queue) => ({ queue, jobs: [{ data: { by: 'B', n: 1 } }, { data: { by: 'B', n: 2 } }] }), 'reports/daily');
    expect(batch.body.data?.sendJobs).toHaveLength(2);
    const scheduled = await sameWrite(
      DOCS.scheduleJob,
      (queue, deadLetter) => ({ queue, cron: YEARLY_CRON, data: { by: 'B' }, options: { key: 'nightly', tz: 'Europe/Paris', deadLetter } }),
      'reports/daily',
    );
    expect(scheduled.body.data?.scheduleJob).toMatchObject({
      queue: 'reports/daily',
      key: 'nightly',
      data: { by: 'B' },
      options: { deadLetter: 'emails/dead' },
    });
    const defaultKey = await sameWrite(DOCS.scheduleJob, (queue) => ({ queue, cron: YEARLY_CRON, data: { by: 'B' } }), 'emails');
    expect(defaultKey.body.data?.scheduleJob).toMatchObject({ queue: 'emails', key: '' });
    const onNewQueue = await sameWrite(DOCS.scheduleJob, (queue) => ({ queue, cron: YEARLY_CRON, options: { key: 'nightly' } }), `${A}/reports/daily`);
    expect(onNewQueue.body.data?.scheduleJob).toMatchObject({ queue: `${A}/reports/daily`, key: 'nightly' });

    const { queue } = (await asB(DOCS.queue, { name: 'emails' })).body.data ?? ({} as Record<string, any>);
    expect(queue).toMatchObject({ name: 'emails', totalCount: 1, queuedCount: 1, activeCount: 0, completedCount: 0, failedCount: 0, cancelledCount: 0 });
    const { schedules } = (await asB(DOCS.schedules, { queue: 'reports/daily' })).body.data ?? ({} as Record<string, any>);
    expect(schedules).toHaveLength(1);
    expect(schedules[0]).toMatchObject({ queue: 'reports/daily', key: 'nightly', data: { by: 'B' } });
  });

  it("singleton and throttle keys A holds do not suppress B's sends (and do suppress B's own repeats)", async () => {
    // A holds a queued "daily-digest" in its SHORT queue "digest": B's own SHORT "digest" still takes one.
    const first = await sameWrite(DOCS.sendJob, (queue) => ({ queue, data: {}, options: { singletonKey: 'daily-digest' } }), 'digest');
    expect(first.body.data?.sendJob).toMatchObject({ queue: 'digest', singletonKey: 'daily-digest', policy: 'short' });
    // ... and B's own rule does apply to B's own repeat (the probe above could have failed).
    const second = await sameWrite(DOCS.sendJob, (queue) => ({ queue, data: {}, options: { singletonKey: 'daily-digest' } }), 'digest');
    expect(second.body).toEqual({ data: { sendJob: null } });

    const throttled = await sameWrite(DOCS.sendJob, (queue) => ({ queue, data: {}, options: { singletonKey: 'throttled', singletonSeconds: 3600 } }), 'emails');
    expect(throttled.body.data?.sendJob).toMatchObject({ queue: 'emails', singletonKey: 'throttled' });
    const again = await sameWrite(DOCS.sendJob, (queue) => ({ queue, data: {}, options: { singletonKey: 'throttled', singletonSeconds: 3600 } }), 'emails');
    expect(again.body).toEqual({ data: { sendJob: null } });
  });

  it(
    "on B's own queues of the same names, A's job ids behave exactly like random ids",
    async () => {
      // B's own queues of every name A uses (the ones not created above).
      expect(errorCodes(await asB(DOCS.createQueue, { name: 'pipeline' }))).toEqual([]);
      expect(errorCodes(await asB(DOCS.createQueue, { name: 'ledger', options: { policy: 'KEY_STRICT_FIFO', retryLimit: 0 } }))).toEqual([]);
      const idOps = probes(victim).filter((op) => op.byId);
      const problems: string[] = [];
      for (const job of victim.jobs) {
        for (const op of idOps) {
          const [real, random] = await normalisedResponses(op, [
            { queue: job.queue, id: job.id, key: 'nightly' },
            { queue: job.queue, id: randomUUID(), key: 'nightly' },
          ]);
          if (JSON.stringify(real) !== JSON.stringify(random))
            problems.push(`${op.op} on B's ${job.queue}: ${JSON.stringify(real)} vs ${JSON.stringify(random)}`);
          const body = (real as GqlResponse).body;
          const expected =
            op.field === 'job'
              ? body.data?.job === null && !body.errors
              : op.byId === 'batch'
                ? JSON.stringify(body.data?.[op.field]) ===
                  JSON.stringify({ requested: (op.vars({ queue: '', id: job.id, key: '' }).ids as string[]).length, affected: 0 })
                : JSON.stringify(errorCodes(real as GqlResponse)) === '["NOT_FOUND"]';
          if (!expected) problems.push(`${op.op} on B's ${job.queue} with A's ${job.label} job: ${JSON.stringify(body).slice(0, 300)}`);
        }
      }
      expect(problems).toEqual([]);
      for (const name of victim.queueNames) {
        const { jobs } = (await asB(DOCS.jobs, { queue: name, first: 100 })).body.data ?? ({} as Record<string, any>);
        const ids = (jobs.nodes as { id: string }[]).map((node) => node.id);
        expect(ids.filter((id) => victim.jobs.some((job) => job.id === id))).toEqual([]);
      }
    },
    LONG,
  );

  it(
    "B may reuse A's job ids for its own jobs: they stay separate in both directions",
    async () => {
      for (const job of victim.jobs) {
        const mine = await asB(DOCS.sendJob, { queue: 'emails', data: { by: 'B', copy: job.label }, options: { id: job.id } });
        const control = await asB(DOCS.sendJob, { queue: 'emails', data: { by: 'B', copy: job.label }, options: { id: randomUUID() } });
        expect(withoutGeneratedIds(mine)).toEqual(withoutGeneratedIds(control));
        expect(mine.body.data?.sendJob).toMatchObject({ id: job.id, queue: 'emails', state: 'CREATED', data: { by: 'B', copy: job.label } });
        const seen = await asB(DOCS.job, { queue: 'emails', id: job.id });
        expect(seen.body.data?.job).toMatchObject({ id: job.id, data: { by: 'B', copy: job.label } });
        expect((await asB(DOCS.cancelJob, { queue: 'emails', id: job.id })).body.data?.cancelJob).toMatchObject({ id: job.id, state: 'CANCELLED' });
        expect((await asB(DOCS.resumeJob, { queue: 'emails', id: job.id })).body.data?.resumeJob).toMatchObject({ id: job.id, state: 'CREATED' });
        expect((await asB(DOCS.deleteJobs, { queue: 'emails', ids: [job.id] })).body.data?.deleteJobs).toEqual({ requested: 1, affected: 1 });
        expect((await asB(DOCS.deleteJob, { queue: 'emails', id: job.id })).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      }
      const batch = await asB(DOCS.sendJobs, { queue: 'emails', jobs: victim.jobs.map((job) => ({ data: { by: 'B' }, options: { id: job.id } })) });
      expect(batch.body.data?.sendJobs).toEqual(victim.jobs.map((job) => job.id));
      expect((await asB(DOCS.deleteJobs, { queue: 'emails', ids: victim.jobs.map((job) => job.id) })).body.data?.deleteJobs).toEqual({
        requested: victim.jobs.length,
        affected: victim.jobs.length,
      });
    },
    LONG,
  );

  it("valid but odd schedule keys (A's key, \"..\", A's id) only ever address B's own schedules", async () => {
    for (const key of ['nightly', '..', `../${A}`, '__pgboss__cron', `${A}/nightly`, 'a'.repeat(255)]) {
      const scheduled = await asB(DOCS.scheduleJob, { queue: 'b-own', cron: YEARLY_CRON, data: { by: 'B' }, options: { key } });
      expect(scheduled.body.data?.scheduleJob).toMatchObject({ queue: 'b-own', key });
      expect((await asB(DOCS.unscheduleJob, { queue: 'b-own', key })).body).toEqual({ data: { unscheduleJob: true } });
      expect(errorCodes(await asB(DOCS.unscheduleJob, { queue: 'b-own', key }))).toEqual(['NOT_FOUND']);
    }
    // B's own "reports/daily" schedule "nightly" goes; A's stays (checked by the final snapshot).
    expect((await asB(DOCS.unscheduleJob, { queue: 'reports/daily', key: 'nightly' })).body).toEqual({ data: { unscheduleJob: true } });
    expect(errorCodes(await asB(DOCS.unscheduleJob, { queue: 'reports/daily', key: 'nightly' }))).toEqual(['NOT_FOUND']);
  });

  it("updateQueue and deleteQueue on B's same-named queues touch only B's", async () => {
    const updated = await asB(DOCS.updateQueue, { name: 'emails', options: { retryLimit: 7, deadLetter: null } });
    expect(updated.body.data?.updateQueue).toMatchObject({ name: 'emails', deadLetter: null, options: { retryLimit: 7 } });
    expect((await asB(DOCS.updateQueue, { name: 'reports/daily', options: { deadLetter: 'emails/dead' } })).body.data?.updateQueue).toMatchObject({
      deadLetter: 'emails/dead',
    });
    expect((await asB(DOCS.updateQueue, { name: 'reports/daily', options: { deadLetter: null } })).body.data?.updateQueue).toMatchObject({ deadLetter: null });
    for (const name of ['emails', 'digest', 'reports/daily', 'emails/dead', `${A}/emails`]) {
      expect({ name, body: (await asB(DOCS.deleteQueue, { name })).body }).toEqual({ name, body: { data: { deleteQueue: true } } });
      expect({ name, codes: errorCodes(await asB(DOCS.deleteQueue, { name })) }).toEqual({ name, codes: ['NOT_FOUND'] });
    }
  });
});

describe("B with A's flow refs, topics, singleton keys and dead-letter names, in its own namespace", () => {
  const data = (response: GqlResponse) => response.body.data ?? ({} as Record<string, any>);
  const ok = async (query: string, variables?: Record<string, unknown>) => {
    const response = await asB(query, variables);
    expect(response.body.errors).toBeUndefined();
    return data(response);
  };
  const aFlow = () => victim.jobs.filter((job) => job.queue === 'pipeline');

  it("a flow under A's queue name, refs and job ids is B's own: same answer as under fresh names, its dependencies only B's", async () => {
    const flowOf = (queue: string, ids: [string, string]) => ({
      jobs: [
        { ref: 'extract', queue, data: { by: 'B' }, options: { id: ids[0] } },
        { ref: 'load', queue, data: { by: 'B' }, options: { id: ids[1], singletonKey: 'load-key' }, dependsOn: ['extract'] },
      ],
    });
    const [root, blocked] = aFlow();
    const mine = await asB(DOCS.sendFlow, flowOf('pipeline', [root!.id, blocked!.id]));
    const control = freshName('ctl');
    const theirs = await asB(DOCS.sendFlow, flowOf(control, [randomUUID(), randomUUID()]));
    expect(withoutGeneratedIds(normalise(mine, { pipeline: '<queue>' }))).toEqual(withoutGeneratedIds(normalise(theirs, { [control]: '<queue>' })));
    expect(data(mine).sendFlow.map((r: { ref: string }) => r.ref)).toEqual(['extract', 'load']);
    const seen = (await ok(DOCS.jobFlow, { queue: 'pipeline', id: blocked!.id })).job;
    expect(seen).toMatchObject({ id: blocked!.id, blocked: true, pendingDependencies: 1 });
    expect(seen.dependencies.map((d: { id: string; data: unknown }) => [d.id, d.data])).toEqual([[root!.id, { by: 'B' }]]);
    const dependents = (await ok(DOCS.jobFlow, { queue: 'pipeline', id: root!.id })).job.dependents;
    expect(dependents.map((d: { id: string; data: unknown }) => [d.id, d.data])).toEqual([[blocked!.id, { by: 'B' }]]);
    // dependsOn can only name refs of the flow: A's job ids are unknown refs, like any other string.
    for (const parent of [root!.id, randomUUID(), `${A}/pipeline`]) {
      const response = await asB(DOCS.sendFlow, {
        jobs: [
          { ref: 'a', queue: 'pipeline', data: {} },
          { ref: 'b', queue: 'pipeline', data: {}, dependsOn: [parent] },
        ],
      });
      expect(normalise(response, { [parent]: '<parent>' })).toEqual({
        status: 200,
        body: {
          data: null,
          errors: [
            expect.objectContaining({
              message: '"b" depends on "<parent>", which is no ref of this flow',
              extensions: { code: 'BAD_USER_INPUT', argument: 'dependsOn' },
            }),
          ],
        },
      });
    }
  });

  it("A's topic name is B's own topic: B's publish reaches B's queues only, A's publish is untouched by B's subscriptions", async () => {
    await ok(DOCS.createQueue, { name: 'orders-b' });
    expect((await ok(DOCS.subscribeQueue, { topic: 'orders', queue: 'orders-b' })).subscribeQueue).toEqual({ name: 'orders', queues: ['orders-b'] });
    expect((await ok(DOCS.topics)).topics).toEqual([{ name: 'orders', queues: ['orders-b'] }]);
    const published = (await ok(DOCS.publish, { topic: 'orders', data: { by: 'B' } })).publish;
    expect(published).toEqual([expect.objectContaining({ queue: 'orders-b', data: { by: 'B' }, state: 'CREATED' })]);
    expect((await ok(DOCS.unsubscribeQueue, { topic: 'orders', queue: 'orders-b' })).unsubscribeQueue).toEqual({ name: 'orders', queues: [] });
    expect(errorCodes(await asB(DOCS.unsubscribeQueue, { topic: 'orders', queue: 'orders-b' }))).toEqual(['NOT_FOUND']);
    expect((await ok(DOCS.publish, { topic: 'orders', data: { by: 'B' } })).publish).toEqual([]);
    await ok(DOCS.subscribeQueue, { topic: 'orders', queue: 'orders-b' });
  });

  it("B's own dead letter queue of A's name redrives B's jobs only; A's dead-lettered ids move nothing", async () => {
    await ok(DOCS.createQueue, { name: 'emails/dead' });
    await ok(DOCS.createQueue, { name: 'emails', options: { deadLetter: 'emails/dead', retryLimit: 0 } });
    const sent = (await ok(DOCS.sendJob, { queue: 'emails', data: { by: 'B', n: 1 } })).sendJob.id as string;
    const [fetched] = await boss.fetch(`${B}/emails`);
    expect(fetched?.id).toBe(sent);
    await ok(DOCS.failJob, { queue: 'emails', id: sent, error: 'boom' });
    const aDead = victim.jobs.filter((job) => job.queue === 'emails/dead');
    expect(aDead).toHaveLength(1);
    for (const options of [{ ids: aDead.map((job) => job.id) }, { ids: [randomUUID()] }]) {
      expect((await ok(DOCS.previewRedrive, { queue: 'emails/dead', options })).previewRedrive).toEqual({ total: 0, unroutable: 0, destinations: [] });
      expect((await ok(DOCS.redriveJobs, { queue: 'emails/dead', options })).redriveJobs).toBe(0);
    }
    expect((await ok(DOCS.previewRedrive, { queue: 'emails/dead' })).previewRedrive).toEqual({
      total: 1,
      unroutable: 0,
      destinations: [{ queue: 'emails', count: 1 }],
    });
    expect((await ok(DOCS.redriveJobs, { queue: 'emails/dead' })).redriveJobs).toBe(1);
    const back = (await ok(DOCS.jobs, { queue: 'emails', states: ['CREATED'] })).jobs.nodes;
    expect(back.map((n: { data: unknown }) => n.data)).toEqual([{ by: 'B', n: 1 }]);
    // Purges of B's same-named queues count and delete B's jobs only (A's are checked by the final snapshot).
    expect((await ok(DOCS.deleteQueuedJobs, { queue: 'emails' })).deleteQueuedJobs).toBe(back.length + 0);
    expect((await ok(DOCS.deleteStoredJobs, { queue: 'emails' })).deleteStoredJobs).toBe(1);
    expect((await ok(DOCS.deleteAllJobs, { queue: 'pipeline' })).deleteAllJobs).toBe(2);
  });

  it("A's singleton keys name nothing of A's: upsertJob inserts, findJobs and blockedKeys see B's jobs only", async () => {
    for (const key of victim.singletonKeys) {
      const queue = victim.jobs.find((job) => job.label === 'created')!.queue;
      const upserted = (await ok(DOCS.upsertJob, { queue, key, data: { by: 'B', key } })).upsertJob;
      expect(upserted).toMatchObject({ inserted: true, job: { queue, singletonKey: key, data: { by: 'B', key } } });
      const again = (await ok(DOCS.upsertJob, { queue, key, data: { by: 'B', again: true } })).upsertJob;
      expect(again).toMatchObject({ inserted: false, job: { singletonKey: key, data: { by: 'B', again: true } } });
      const found = (await ok(DOCS.findJobs, { queue, singletonKey: key })).findJobs.nodes;
      expect(found.map((n: { data: unknown }) => n.data)).toEqual([{ by: 'B', again: true }]);
    }
    expect((await ok(DOCS.upsertJob, { queue: 'ledger', key: 'acct-1', data: { by: 'B' } })).upsertJob.inserted).toBe(true);
    expect((await ok(DOCS.blockedKeys, { queue: 'ledger' })).blockedKeys).toEqual([]);
    expect((await ok(DOCS.findJobs, { queue: 'emails', data: { secret: victim.secret } })).findJobs.nodes).toEqual([]);
    // A's job ids on B's queues of the same names: updateJob is NOT_FOUND, like a random id.
    for (const job of victim.jobs) {
      for (const id of [job.id, randomUUID()]) {
        const response = await asB(DOCS.updateJob, { queue: 'ledger', id, data: { stolen: true } });
        expect(normalise(response, { [id]: '<id>' })).toEqual({
          status: 200,
          body: { data: null, errors: [expect.objectContaining({ message: 'no job <id> in queue "ledger"', extensions: { code: 'NOT_FOUND' } })] },
        });
      }
    }
  });
});

describe('what B lists', () => {
  it("B's queues and schedules are exactly its own rows in pg-boss, never A's", async () => {
    const { queues } = (await asB(DOCS.queues)).body.data ?? ({} as Record<string, any>);
    const { schedules } = (await asB(DOCS.schedules)).body.data ?? ({} as Record<string, any>);
    const ownQueues = await db.query<{ name: string }>('SELECT substr(name, $2) AS name FROM pgboss.queue WHERE starts_with(name, $1) ORDER BY name', [
      `${B}/`,
      B.length + 2,
    ]);
    const ownSchedules = await db.query<{ name: string; key: string }>(
      'SELECT substr(name, $2) AS name, key FROM pgboss.schedule WHERE starts_with(name, $1) ORDER BY name, key',
      [`${B}/`, B.length + 2],
    );
    const { topics } = (await asB(DOCS.topics)).body.data ?? ({} as Record<string, any>);
    const ownTopics = await db.query<{ name: string; queues: string[] }>(
      `SELECT substr(event, $2) AS name, array_agg(substr(name, $2) ORDER BY name) AS queues FROM pgboss.subscription
        WHERE starts_with(event, $1) GROUP BY event ORDER BY event`,
      [`${B}/`, B.length + 2],
    );
    expect(topics).toEqual(ownTopics.rows);
    expect(topics.length).toBeGreaterThan(0);
    expect((queues as { name: string }[]).map((q) => q.name)).toEqual(ownQueues.rows.map((r) => r.name));
    expect((schedules as { queue: string; key: string }[]).map((s) => [s.queue, s.key])).toEqual(ownSchedules.rows.map((r) => [r.name, r.key]));
    expect(queues.length).toBeGreaterThan(0);
    expect(schedules.length).toBeGreaterThan(0);
    // A's rows exist all along: B's listing leaves them out, it does not miss them by accident.
    const victims = await db.query('SELECT 1 FROM pgboss.queue WHERE starts_with(name, $1)', [`${A}/`]);
    expect(victims.rowCount).toBe(victim.queueNames.length);
  });
});

describe('afterwards', () => {
  it(
    "A's queues, jobs and schedules are unchanged, through A's API",
    async () => {
      expect(await apiSnapshot(gateway, victim)).toEqual(victimApiBefore);
    },
    LONG,
  );

  it("A's rows in pg-boss are byte-for-byte unchanged, and nothing outside A points into A", async () => {
    const after = await dbSnapshot(db, A);
    expect(after.jobs).toHaveLength(victim.jobs.length);
    expect(after.schedules).toHaveLength(2);
    expect(after.subscriptions).toHaveLength(2);
    expect(after.dependencies).toHaveLength(1);
    expect(diffSnapshots(victimDbBefore, after)).toEqual([]);
    expect(await foreignReferences(db, A)).toEqual([]);
  });

  it("nothing B received carries A's secret, tenant id, job ids or any tenant prefix", () => {
    expect(bCalls.length).toBeGreaterThan(1000);
    expect(leaksIn(bCalls, victim, B)).toEqual([]);
  });

  it('B never got FORBIDDEN, and every error it got had a code', () => {
    const problems = bCalls.flatMap((call) =>
      (call.response.body.errors ?? [])
        .filter((error) => !error.extensions?.code || error.extensions.code === 'FORBIDDEN')
        .map((error) => `${call.query.slice(0, 50).replace(/\s+/g, ' ')} ${JSON.stringify(call.variables).slice(0, 200)}: ${JSON.stringify(error)}`),
    );
    expect(problems).toEqual([]);
  });
});
