/**
 * Adversarial isolation over graphql-ws: jobEvents, workAssigned, workers and
 * the leases of pushed jobs. Tenant B watches and works "emails" while tenant
 * A has a worker holding a job there. Nothing of A may reach B, and what B
 * does must leave A's rows alone. "Nothing arrived" is never judged by
 * waiting: B's own later event on the same subscription is the barrier, since
 * events are delivered in commit order.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { gqlData, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import {
  DOCS,
  caller,
  dbSnapshot,
  diffSnapshots,
  errorCodes,
  freshName,
  normalise,
  randomUUID,
  startIsolationGateway,
  type DbSnapshot,
} from '../support/isolation.ts';
import { useOutsideBoss } from '../support/jobs.ts';
import { collect, type Collected } from '../support/subscriptions.ts';

interface EventData {
  jobEvents: { type: string; queue: string; jobId: string; state: string; job: { id: string; queue: string; data: unknown } | null };
}
interface Assigned {
  workAssigned: { id: string; queue: string; state: string; data: unknown };
}

const EVENTS = `subscription($queue: String, $jobId: ID, $types: [JobEventType!]) {
  jobEvents(queue: $queue, jobId: $jobId, types: $types) { type queue jobId state job { id queue data } } }`;
const WORK = 'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id queue state data } }';
const WORKERS = 'query($queue: String) { workers(queue: $queue) { queues concurrency inHand } }';

let gateway: TestGateway;
const db = useTestClient();
const boss = useOutsideBoss();
let victim: TestTenant;
let attacker: TestTenant;
let A: string;
const secret = `A-SECRET-${randomUUID()}`;
const clients: Client[] = [];
/** A's worker connection and what it has been pushed. */
let victimWorker: Collected<Assigned>;
let victimSocket: Client;
const victimJobs: Record<string, string> = {};

const client = (tenant: TestTenant): Client => {
  const created = wsClient(gateway.wsUrl, { token: tenant.token });
  clients.push(created);
  return created;
};
const api = (tenant: TestTenant) => (query: string, variables?: Record<string, unknown>) => gqlData(gateway.graphqlUrl, tenant.token, query, variables);
const send = async (tenant: TestTenant, queue: string, data: unknown, options?: Record<string, unknown>): Promise<string> =>
  (await api(tenant)(DOCS.sendJob, { queue, data, options })).sendJob.id as string;

/** Everything any of B's subscriptions received, for the final scan. */
const received: Collected<unknown>[] = [];
function watch<T>(on: Client, query: string, variables: Record<string, unknown>): Collected<T> {
  const sub = collect<T>(on, query, variables);
  received.push(sub);
  return sub;
}

/** Subscribes B to jobEvents and proves the subscription is live with a job of B's own in `probeQueue`. */
async function liveEvents(on: Client, variables: Record<string, unknown>, probeQueue: string): Promise<{ sub: Collected<EventData>; probes: string[] }> {
  const sub = watch<EventData>(on, EVENTS, variables);
  // Every probe sent: one that arrives after its wait is still B's own.
  const probes: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const probe = await send(attacker, probeQueue, { probe: attempt });
    probes.push(probe);
    try {
      await sub.waitFor((d) => d.jobEvents.jobId === probe, 500);
      return { sub, probes };
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}

beforeAll(async () => {
  gateway = await startIsolationGateway();
  victim = await createTestTenant(gateway, ['PUBLISH', 'READ', 'WORK']);
  attacker = await createTestTenant(gateway, ['PUBLISH', 'READ', 'WORK']);
  A = victim.tenant.id;

  await api(victim)(DOCS.createQueue, { name: 'emails', options: { expireInSeconds: 3600 } });
  await api(victim)(DOCS.createQueue, { name: 'done' });
  // A finished job, for the "final event at once" path of jobEvents(jobId).
  victimJobs.done = await send(victim, 'done', { secret });
  const [fetched] = await boss.fetch(`${A}/done`);
  expect(fetched?.id).toBe(victimJobs.done);
  await api(victim)(DOCS.completeJob, { queue: 'done', id: victimJobs.done, output: { secret } });
  // A's worker holds one job of "emails" (a lease).
  victimJobs.first = await send(victim, 'emails', { secret, n: 1 });
  victimSocket = client(victim);
  victimWorker = collect<Assigned>(victimSocket, WORK, { queues: ['emails'], concurrency: 1 });
  await victimWorker.waitFor((d) => d.workAssigned.id === victimJobs.first);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await gateway?.stop();
});

describe('jobEvents', () => {
  it("B's subscriptions (all jobs, and queue \"emails\") carry none of A's events, while A's own carries them", async () => {
    const bSocket = client(attacker);
    const all = await liveEvents(bSocket, {}, 'b-probe');
    const emails = await liveEvents(bSocket, { queue: 'emails' }, 'emails');
    const prefixed = await liveEvents(bSocket, { queue: `${A}/emails` }, `${A}/emails`);
    const mine = collect<EventData>(client(victim), EVENTS, {});

    // A: its worker completes the held job (and is pushed the next one), then a send and a cancel.
    victimJobs.second = await send(victim, 'emails', { secret, n: 2 });
    const done = await wsExecute(victimSocket, DOCS.completeJob, { queue: 'emails', id: victimJobs.first, output: { secret } });
    expect(done.errors).toBeUndefined();
    await victimWorker.waitFor((d) => d.workAssigned.id === victimJobs.second);
    victimJobs.cancelled = await send(victim, 'emails', { secret, n: 3 }, { delaySeconds: 3600 });
    await api(victim)(DOCS.updateJob, { queue: 'emails', id: victimJobs.cancelled, data: { secret, n: 4 } });
    await api(victim)(DOCS.cancelJob, { queue: 'emails', id: victimJobs.cancelled });
    // A flow of A's released by its parent (READY), published to A's topic, then purged (DELETED).
    const flow = (
      await api(victim)(DOCS.sendFlow, {
        jobs: [
          { ref: 'a', queue: 'flow', data: { secret } },
          { ref: 'b', queue: 'flow', data: { secret }, dependsOn: ['a'] },
        ],
      })
    ).sendFlow as { ref: string; job: unknown }[];
    expect(flow).toHaveLength(2);
    const [parent] = await boss.fetch(`${A}/flow`);
    await boss.complete(`${A}/flow`, parent!.id);
    await boss.resolveFlow();
    await api(victim)(DOCS.subscribeQueue, { topic: 'orders', queue: 'flow' });
    await api(victim)(DOCS.publish, { topic: 'orders', data: { secret } });
    await mine.waitFor((d) => d.jobEvents.queue === 'flow' && d.jobEvents.type === 'READY');
    await api(victim)(DOCS.deleteQueuedJobs, { queue: 'flow' });
    // Positive control: these events exist and are delivered (to A).
    await mine.waitFor((d) => d.jobEvents.jobId === victimJobs.cancelled && d.jobEvents.type === 'CANCELLED');
    await mine.waitFor((d) => d.jobEvents.queue === 'flow' && d.jobEvents.type === 'DELETED');
    expect(mine.results.some((r) => r.data?.jobEvents.jobId === victimJobs.cancelled && r.data?.jobEvents.type === 'UPDATED')).toBe(true);
    expect(mine.results.map((r) => r.data?.jobEvents.jobId)).toEqual(expect.arrayContaining([victimJobs.first, victimJobs.second]));
    mine.stop();

    // Barrier: a job of B's own, committed after all of A's changes, on each subscription.
    const barrier = { all: await send(attacker, 'b-probe', {}), emails: await send(attacker, 'emails', {}), prefixed: await send(attacker, `${A}/emails`, {}) };
    await all.sub.waitFor((d) => d.jobEvents.jobId === barrier.all);
    await emails.sub.waitFor((d) => d.jobEvents.jobId === barrier.emails);
    await prefixed.sub.waitFor((d) => d.jobEvents.jobId === barrier.prefixed);
    const ids = (sub: Collected<EventData>) => sub.results.map((r) => [r.data?.jobEvents.type, r.data?.jobEvents.jobId, r.errors ?? null]);
    // Every B event so far is a CREATED of a B probe or barrier; nothing else, in particular nothing of A's.
    const own = new Set([...all.probes, ...emails.probes, ...prefixed.probes, barrier.all, barrier.emails, barrier.prefixed]);
    for (const sub of [all.sub, emails.sub, prefixed.sub]) {
      for (const [type, jobId, errors] of ids(sub))
        expect({ type, own: own.has(jobId as string), errors }).toEqual({ type: 'CREATED', own: true, errors: null });
    }
    expect(ids(emails.sub).at(-1)).toEqual(['CREATED', barrier.emails, null]);
    for (const sub of [all.sub, emails.sub, prefixed.sub]) sub.stop();
  });

  it("jobEvents(jobId) on A's finished job answers like on a random id: only B's own job of that id, never A's final event", async () => {
    const bSocket = client(attacker);
    const firstEvents: unknown[] = [];
    for (const id of [victimJobs.done!, randomUUID()]) {
      // B's own job with the same id, finished (cancelled): subscribing must yield B's, not A's, final event.
      const twin = freshName('twin');
      expect(await send(attacker, twin, { by: 'B' }, { id })).toBe(id);
      await api(attacker)(DOCS.cancelJob, { queue: twin, id });
      const sub = watch<EventData>(bSocket, EVENTS, { jobId: id });
      const first = await sub.waitFor(() => true);
      firstEvents.push(normalise(first, { [id]: '<id>', [twin]: '<queue>' }));
      sub.stop();
      expect((await api(attacker)(DOCS.deleteJob, { queue: twin, id })).deleteJob).toBe(true);
    }
    expect(firstEvents[0]).toEqual({
      jobEvents: { type: 'CANCELLED', queue: '<queue>', jobId: '<id>', state: 'CANCELLED', job: { id: '<id>', queue: '<queue>', data: { by: 'B' } } },
    });
    expect(firstEvents[1]).toEqual(firstEvents[0]);
  });

  it("jobEvents(jobId) on A's finished job, with no job of that id at B, yields nothing until B's own job of that id moves", async () => {
    const bSocket = client(attacker);
    const queue = freshName('late');
    const id = victimJobs.done!;
    await api(attacker)(DOCS.createQueue, { name: queue });
    const sub = watch<EventData>(bSocket, EVENTS, { jobId: id });
    expect(await send(attacker, queue, { by: 'B' }, { id })).toBe(id);
    await api(attacker)(DOCS.cancelJob, { queue, id });
    const cancelled = await sub.waitFor((d) => d.jobEvents.type === 'CANCELLED');
    expect(cancelled.jobEvents.queue).toBe(queue);
    // Whatever came first (CREATED, or the final event at once) is B's, on B's queue.
    for (const result of sub.results)
      expect([result.data?.jobEvents.queue, result.data?.jobEvents.type]).toEqual([queue, expect.stringMatching(/^(CREATED|CANCELLED)$/)]);
    sub.stop();
  });

  it('invalid filters are BAD_USER_INPUT whatever A has', async () => {
    const bSocket = client(attacker);
    for (const variables of [
      { queue: `../${A}/emails` },
      { queue: '__pgboss__send-it' },
      { queue: 'emails\u0000' },
      { queue: '' },
      { jobId: `${victimJobs.done} ` },
      { jobId: 'not-a-uuid' },
    ]) {
      const sub = watch<EventData>(bSocket, EVENTS, variables);
      expect({ variables, error: JSON.stringify(await sub.error) }).toEqual({ variables, error: expect.stringContaining('BAD_USER_INPUT') });
    }
  });
});

describe('workAssigned, leases and workers', () => {
  let before: DbSnapshot;

  beforeAll(async () => {
    // A now holds victimJobs.second and has a ready job waiting in "emails".
    victimJobs.waiting = await send(victim, 'emails', { secret, n: 4 });
    before = await dbSnapshot(db, A);
  });

  it("workAssigned on a queue name only A has creates B's own queue, as a never-used name does; invalid names are BAD_USER_INPUT", async () => {
    const bSocket = client(attacker);
    const answer = async (queues: string[]) => JSON.stringify(await watch<Assigned>(bSocket, WORK, { queues }).error);
    const unused = freshName();
    const subs = [watch<Assigned>(bSocket, WORK, { queues: ['done'] }), watch<Assigned>(bSocket, WORK, { queues: [unused] })];
    const B = attacker.tenant.id;
    const bQueues = async () =>
      (await db.query<{ name: string }>('SELECT name FROM pgboss.queue WHERE name = ANY($1)', [[`${B}/done`, `${B}/${unused}`]])).rows;
    const deadline = Date.now() + 10_000;
    while ((await bQueues()).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await bQueues()).map((row) => row.name).sort()).toEqual([`${B}/done`, `${B}/${unused}`].sort());
    // Neither subscription got anything of A's, nor an error that tells the names apart.
    expect(subs.map((sub) => sub.results)).toEqual([[], []]);
    for (const sub of subs) sub.stop();
    for (const name of ['', '..', `../${A}/emails`, `/${A}/emails`, `${A}%2Femails`, '_emails', '\u0435mails']) {
      expect({ name, error: await answer([name]) }).toEqual({ name, error: expect.stringContaining('BAD_USER_INPUT') });
    }
  });

  it("B's worker on its own \"emails\" is pushed only B's jobs, never A's waiting one", async () => {
    const bSocket = client(attacker);
    const ownFirst = await send(attacker, 'emails', { by: 'B', n: 1 });
    const sub = watch<Assigned>(bSocket, WORK, { queues: ['emails'], concurrency: 10 });
    const first = await sub.waitFor(() => true);
    const ownSecond = await send(attacker, 'emails', { by: 'B', n: 2 });
    await sub.waitFor((d) => d.workAssigned.id === ownSecond);
    const pushed = sub.results.map((r) => r.data?.workAssigned.id);
    // The barrier (id of the second job) came; everything pushed is B's (ownFirst, the barrier jobs of the events tests, ownSecond).
    expect(first.workAssigned.queue).toBe('emails');
    expect(pushed).toContain(ownFirst);
    expect(pushed.filter((id) => Object.values(victimJobs).includes(id as string))).toEqual([]);
    for (const id of pushed) {
      const done = await wsExecute(bSocket, DOCS.completeJob, { queue: 'emails', id, output: { by: 'B' } });
      expect(done.data?.completeJob).toMatchObject({ id, state: 'COMPLETED' });
    }
    // workers: B sees its worker, never A's; A sees its own.
    const bWorkers = await api(attacker)(WORKERS, { queue: 'emails' });
    expect(bWorkers.workers).toEqual([{ queues: ['emails'], concurrency: 10, inHand: 0 }]);
    const aWorkers = await api(victim)(WORKERS);
    expect(aWorkers.workers).toEqual([{ queues: ['emails'], concurrency: 1, inHand: 1 }]);
    sub.stop();
  });

  it("settling A's held job from B (HTTP or B's worker socket) is NOT_FOUND like a random id, never CONFLICT", async () => {
    const bSocket = client(attacker);
    const held = victimJobs.second!;
    const random = randomUUID();
    const problems: string[] = [];
    const ops: [string, string, (id: string) => Record<string, unknown>][] = [
      ['completeJob', DOCS.completeJob, (id) => ({ queue: 'emails', id, output: {} })],
      ['failJob', DOCS.failJob, (id) => ({ queue: 'emails', id, error: 'x' })],
      ['touchJob', DOCS.touchJob, (id) => ({ queue: 'emails', id })],
      ['completeJobs', DOCS.completeJobs, (id) => ({ queue: 'emails', ids: [id] })],
      ['cancelJob', DOCS.cancelJob, (id) => ({ queue: 'emails', id })],
      ['deleteJob', DOCS.deleteJob, (id) => ({ queue: 'emails', id })],
    ];
    const http = caller(gateway.graphqlUrl, attacker.token);
    for (const [label, doc, vars] of ops) {
      for (const transport of ['http', 'ws'] as const) {
        const run = async (id: string) =>
          normalise(transport === 'http' ? (await http(doc, vars(id))).body : await wsExecute(bSocket, doc, vars(id)), { [id]: '<id>' });
        const [real, control] = [await run(held), await run(random)];
        if (JSON.stringify(real) !== JSON.stringify(control))
          problems.push(`${label} over ${transport}: ${JSON.stringify(real)} vs ${JSON.stringify(control)}`);
        if (JSON.stringify(real).includes('CONFLICT')) problems.push(`${label} over ${transport}: CONFLICT on A's held job`);
      }
    }
    expect(problems).toEqual([]);
    expect(errorCodes(await http(DOCS.completeJob, { queue: 'emails', id: held, output: {} }))).toEqual(['NOT_FOUND']);
  });

  it("pauseWork of B concerns only B; A's worker keeps its job and its session", async () => {
    const bSocket = client(attacker);
    expect((await wsExecute(bSocket, 'mutation { pauseWork }')).data).toEqual({ pauseWork: false });
    expect((await api(victim)(WORKERS)).workers).toEqual([{ queues: ['emails'], concurrency: 1, inHand: 1 }]);
  });

  it("A's rows are byte-for-byte as before B's attempts", async () => {
    expect(diffSnapshots(before, await dbSnapshot(db, A))).toEqual([]);
  });
});

describe('afterwards', () => {
  it("nothing any B subscription received carries A's secret, tenant id, job ids or a tenant prefix", () => {
    // B's own queue named "<A's id>/emails" is the one legitimate echo of A's id.
    const text = JSON.stringify(received.map((sub) => sub.results))
      .split(JSON.stringify(`${A}/emails`))
      .join('"<B\'s own>"');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(A);
    expect(text).not.toContain(`${attacker.tenant.id}/`);
    for (const id of Object.values(victimJobs)) {
      // A's finished job id is one B deliberately reused for its own jobs above.
      if (id !== victimJobs.done) expect(text).not.toContain(id);
    }
  });
});
