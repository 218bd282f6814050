/**
 * sendFlow, Job.dependencies / dependents / blocked: pg-boss flows through the
 * gateway, checked on pgboss.job and pgboss.job_dependency.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { wsClient, wsExecute } from '../support/clients.ts';
import { eventStreams, eventsOf } from '../support/events.ts';
import { issueExtraToken } from '../support/gateway.ts';
import { apiFor, startJobsFixture, type JobsFixture } from '../support/jobs.ts';
import { collect } from '../support/subscriptions.ts';

const MAX_BATCH = 6;

const SEND_FLOW = `mutation($jobs: [FlowJobInput!]!) { sendFlow(jobs: $jobs) { ref id queue job { id state blocked } } }`;
const JOB = `query($queue: String!, $id: ID!) { job(queue: $queue, id: $id) {
  id state blocked pendingDependencies
  dependencies { id queue state blocked }
  dependents { id queue state blocked pendingDependencies }
} }`;
const COMPLETE = 'mutation($queue: String!, $id: ID!) { completeJob(queue: $queue, id: $id) { id state } }';

let f: JobsFixture;
let streams: ReturnType<typeof eventStreams>;

beforeAll(async () => {
  f = await startJobsFixture({ config: { maxBatchSize: MAX_BATCH } });
  streams = eventStreams(f.gateway, f.tenant.token);
});

afterAll(async () => {
  await streams.close();
  await f.close();
});

interface FlowRef {
  ref: string;
  id: string;
  queue: string;
  job: { id: string; state: string; blocked: boolean };
}

async function sendFlow(jobs: Record<string, unknown>[]): Promise<Record<string, FlowRef>> {
  const { sendFlow } = await f.api.data<{ sendFlow: FlowRef[] }>(SEND_FLOW, { jobs });
  expect(sendFlow.map((r) => r.ref)).toEqual(jobs.map((j) => j.ref));
  return Object.fromEntries(sendFlow.map((r) => [r.ref, r]));
}

/** Completes an active job as a plain pg-boss worker would. */
async function workOne(queue: string, id: string): Promise<void> {
  const [job] = await f.boss.fetch(f.qualified(queue));
  expect(job?.id).toBe(id);
  await f.api.data(COMPLETE, { queue, id });
}

describe('sendFlow', () => {
  it("creates the jobs in their queues, blocked behind their parents, with pg-boss's dependency rows", async () => {
    const extract = f.queueName('extract');
    const load = f.queueName('load');
    const flow = await sendFlow([
      { ref: 'extract', queue: extract, data: { step: 1 } },
      { ref: 'transform', queue: extract, data: { step: 2 }, dependsOn: ['extract'] },
      { ref: 'load', queue: load, data: { step: 3 }, options: { priority: 4 }, dependsOn: ['extract', 'transform', 'extract'] },
    ]);
    expect(flow.extract).toMatchObject({ queue: extract, job: { state: 'CREATED', blocked: false } });
    expect(flow.transform!.job.blocked).toBe(true);
    expect(flow.load).toMatchObject({ queue: load, job: { blocked: true } });

    const rows = await f.tables.sql.query<{
      id: string;
      name: string;
      blocked: boolean;
      blocking: boolean;
      pending_dependencies: number;
      priority: number;
      data: unknown;
    }>("SELECT id, name, blocked, blocking, pending_dependencies, priority, data FROM pgboss.job WHERE id = ANY($1) ORDER BY data->>'step'", [
      Object.values(flow).map((r) => r.id),
    ]);
    expect(rows.rows).toEqual([
      { id: flow.extract!.id, name: f.qualified(extract), blocked: false, blocking: true, pending_dependencies: 0, priority: 0, data: { step: 1 } },
      { id: flow.transform!.id, name: f.qualified(extract), blocked: true, blocking: true, pending_dependencies: 1, priority: 0, data: { step: 2 } },
      { id: flow.load!.id, name: f.qualified(load), blocked: true, blocking: false, pending_dependencies: 2, priority: 4, data: { step: 3 } },
    ]);
    const deps = await f.tables.sql.query(
      'SELECT child_name, child_id, parent_name, parent_id FROM pgboss.job_dependency WHERE child_id = ANY($1) ORDER BY child_id, parent_id',
      [[flow.transform!.id, flow.load!.id]],
    );
    expect(deps.rows).toEqual(
      [
        { child_name: f.qualified(extract), child_id: flow.transform!.id, parent_name: f.qualified(extract), parent_id: flow.extract!.id },
        { child_name: f.qualified(load), child_id: flow.load!.id, parent_name: f.qualified(extract), parent_id: flow.extract!.id },
        { child_name: f.qualified(load), child_id: flow.load!.id, parent_name: f.qualified(extract), parent_id: flow.transform!.id },
      ].sort((a, b) => a.child_id.localeCompare(b.child_id) || a.parent_id.localeCompare(b.parent_id)),
    );

    const { job } = await f.api.data(JOB, { queue: load, id: flow.load!.id });
    expect(job).toMatchObject({ state: 'CREATED', blocked: true, pendingDependencies: 2, dependents: [] });
    expect(new Set(job.dependencies.map((d: { id: string }) => d.id))).toEqual(new Set([flow.extract!.id, flow.transform!.id]));
    expect(job.dependencies.every((d: { queue: string }) => d.queue === extract)).toBe(true);
    const root = (await f.api.data(JOB, { queue: extract, id: flow.extract!.id })).job;
    expect(root).toMatchObject({ blocked: false, pendingDependencies: 0, dependencies: [] });
    expect(new Set(root.dependents.map((d: { id: string }) => d.id))).toEqual(new Set([flow.transform!.id, flow.load!.id]));

    // A blocked job is not fetched; its root is.
    const fetched = await f.boss.fetch(f.qualified(load));
    expect(fetched).toEqual([]);
  });

  it('releases a job once its last parent completed, and jobEvents reports READY for it', async () => {
    const queue = f.queueName('steps');
    const sub = await streams.subscribe({ queue });
    const flow = await sendFlow([
      { ref: 'a', queue, data: {} },
      { ref: 'b', queue, data: {}, dependsOn: ['a'] },
      { ref: 'c', queue, data: {}, dependsOn: ['a', 'b'] },
    ]);
    await workOne(queue, flow.a!.id);
    await f.boss.resolveFlow();
    await sub.waitFor((d) => d.jobEvents.jobId === flow.b!.id && d.jobEvents.type === 'READY');
    expect((await f.tables.job(flow.b!.id)) as unknown).toMatchObject({ state: 'created' });
    const { rows } = await f.tables.sql.query('SELECT id, blocked, pending_dependencies FROM pgboss.job WHERE id = ANY($1) ORDER BY id', [
      [flow.b!.id, flow.c!.id],
    ]);
    expect(rows).toEqual(
      [
        { id: flow.b!.id, blocked: false, pending_dependencies: 0 },
        { id: flow.c!.id, blocked: true, pending_dependencies: 1 },
      ].sort((x, y) => x.id.localeCompare(y.id)),
    );
    const { job } = await f.api.data(JOB, { queue, id: flow.c!.id });
    expect(job).toMatchObject({ blocked: true, pendingDependencies: 1 });
    expect(job.dependencies.find((d: { id: string }) => d.id === flow.a!.id)).toMatchObject({ state: 'COMPLETED' });

    await workOne(queue, flow.b!.id);
    await f.boss.resolveFlow();
    await sub.waitFor((d) => d.jobEvents.jobId === flow.c!.id && d.jobEvents.type === 'READY');
    await workOne(queue, flow.c!.id);
    await sub.waitFor((d) => d.jobEvents.jobId === flow.c!.id && d.jobEvents.type === 'COMPLETED');
    expect(eventsOf(sub, flow.c!.id)).toEqual(['CREATED:CREATED', 'READY:CREATED', 'ACTIVE:ACTIVE', 'COMPLETED:COMPLETED']);
    expect(eventsOf(sub, flow.a!.id)).toEqual(['CREATED:CREATED', 'ACTIVE:ACTIVE', 'COMPLETED:COMPLETED']);
    sub.stop();
  });

  it('a worker of workAssigned gets a released job at once, without waiting for the safety poll', async () => {
    const queue = f.queueName('pushed');
    const client = wsClient(f.gateway.wsUrl, { token: f.tenant.token });
    try {
      const work = collect<{ workAssigned: { id: string } }>(
        client,
        'subscription($queues: [String!]!) { workAssigned(queues: $queues, concurrency: 2) { id } }',
        { queues: [queue] },
      );
      const flow = await sendFlow([
        { ref: 'first', queue, data: {} },
        { ref: 'then', queue, data: {}, dependsOn: ['first'] },
      ]);
      await work.waitFor((d) => d.workAssigned.id === flow.first!.id);
      const done = await wsExecute(client, COMPLETE, { queue, id: flow.first!.id });
      expect(done.errors).toBeUndefined();
      await f.boss.resolveFlow();
      await work.waitFor((d) => d.workAssigned.id === flow.then!.id, 2_500);
      work.stop();
    } finally {
      await client.dispose();
    }
  });

  it('refuses unknown refs, cycles, self-dependencies, repeated refs, flows too small or too large, with BAD_USER_INPUT and nothing created', async () => {
    const queue = f.queueName('bad');
    const bad: Record<string, unknown>[][] = [
      [
        { ref: 'a', queue, data: {} },
        { ref: 'b', queue, data: {}, dependsOn: ['nope'] },
      ],
      [
        { ref: 'a', queue, data: {}, dependsOn: ['b'] },
        { ref: 'b', queue, data: {}, dependsOn: ['c'] },
        { ref: 'c', queue, data: {}, dependsOn: ['a'] },
      ],
      [
        { ref: 'a', queue, data: {}, dependsOn: ['a'] },
        { ref: 'b', queue, data: {} },
      ],
      [
        { ref: 'a', queue, data: {} },
        { ref: 'a', queue, data: {}, dependsOn: ['a'] },
      ],
      [{ ref: 'a', queue, data: {} }],
      [
        { ref: 'a', queue, data: {} },
        { ref: 'b', queue, data: {} },
      ],
      [
        { ref: '', queue, data: {} },
        { ref: 'b', queue, data: {}, dependsOn: [''] },
      ],
      [
        { ref: 'a', queue, data: {} },
        { ref: 'b', queue: '../x', data: {}, dependsOn: ['a'] },
      ],
      [
        { ref: 'a', queue, data: null },
        { ref: 'b', queue, data: {}, dependsOn: ['a'] },
      ],
      [
        { ref: 'a', queue, data: {} },
        { ref: 'b', queue, data: {}, dependsOn: ['a'], options: { debounceSeconds: 5 } },
      ],
      Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ ref: `j${i}`, queue, data: {}, dependsOn: i ? ['j0'] : [] })),
    ];
    for (const jobs of bad) expect({ jobs, code: await f.api.errorCode(SEND_FLOW, { jobs }) }).toEqual({ jobs, code: 'BAD_USER_INPUT' });
    expect(await f.tables.countUnder(`${f.qualified(queue)}`)).toEqual({ jobs: 0, queues: 0, schedules: 0 });
    // The cap itself is allowed.
    const full = await sendFlow(Array.from({ length: MAX_BATCH }, (_, i) => ({ ref: `j${i}`, queue, data: {}, dependsOn: i ? ['j0'] : [] })));
    expect(Object.keys(full)).toHaveLength(MAX_BATCH);
  });

  it('refs are any strings of the tenant: names of Object.prototype (__proto__ too) name jobs like any other ref', async () => {
    const queue = f.queueName('protorefs');
    const refs = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const flow = await sendFlow(refs.map((ref, i) => ({ ref, queue, data: { i }, ...(i ? { dependsOn: refs.slice(0, i) } : {}) })));
    const ids = refs.map((ref) => flow[ref]!.id);
    expect(new Set(ids).size).toBe(refs.length);
    expect(refs.map((ref) => flow[ref]!.job.blocked)).toEqual([false, true, true, true]);
    const rows = await f.tables.sql.query<{ id: string; i: number; pending_dependencies: number }>(
      "SELECT id, (data->>'i')::int AS i, pending_dependencies FROM pgboss.job WHERE name = $1 ORDER BY 2",
      [f.qualified(queue)],
    );
    expect(rows.rows).toEqual(ids.map((id, i) => ({ id, i, pending_dependencies: i })));
    const deps = await f.tables.sql.query<{ child_id: string; parent_id: string }>(
      'SELECT child_id, parent_id FROM pgboss.job_dependency WHERE child_name = $1 ORDER BY child_id, parent_id',
      [f.qualified(queue)],
    );
    const expected = ids.flatMap((child, i) => ids.slice(0, i).map((parent) => ({ child_id: child, parent_id: parent })));
    expect(deps.rows).toEqual(expected.sort((a, b) => a.child_id.localeCompare(b.child_id) || a.parent_id.localeCompare(b.parent_id)));
  });

  it('a flow whose job conflicts with a stored one is CONFLICT, and none of its jobs is created', async () => {
    const queue = f.queueName('dup');
    const taken = randomUUID();
    await f.api.data('mutation($queue: String!, $id: ID!) { sendJob(queue: $queue, data: {}, options: { id: $id }) { id } }', { queue, id: taken });
    const code = await f.api.errorCode(SEND_FLOW, {
      jobs: [
        { ref: 'a', queue, data: { n: 1 } },
        { ref: 'b', queue, data: { n: 2 }, options: { id: taken }, dependsOn: ['a'] },
      ],
    });
    expect(code).toBe('CONFLICT');
    expect((await f.tables.jobsIn(f.qualified(queue))).map((row) => row.id)).toEqual([taken]);
  });

  it('counts against the query cost by its size, and needs PUBLISH', async () => {
    const readOnly = apiFor(f.gateway, (await issueExtraToken(f.gateway, f.tenant.tenant.id, ['READ'])).token);
    const queue = f.queueName('scope');
    expect(
      await readOnly.errorCode(SEND_FLOW, {
        jobs: [
          { ref: 'a', queue, data: {} },
          { ref: 'b', queue, data: {}, dependsOn: ['a'] },
        ],
      }),
    ).toBe('FORBIDDEN');
    const deep = `query($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { dependencies(first: 500) { dependents(first: 500) { id } } } }`;
    expect(await f.api.errorCode(deep, { queue, id: randomUUID() })).toBe('QUERY_TOO_COMPLEX');
  });
});
