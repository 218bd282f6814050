import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { gqlData, httpGraphql, useWsClients, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { collect } from '../support/subscriptions.ts';

interface Assigned {
  workAssigned: { id: string; lease: string };
}
interface Events {
  jobEvents: { type: string; jobId: string; state: string; progress: unknown };
}

const WORK = 'subscription($queues: [String!]!) { workAssigned(queues: $queues) { id lease } }';
const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId state progress } }';
const PROGRESS =
  'mutation($queue: String!, $id: ID!, $progress: JSON!, $lease: String) { reportProgress(queue: $queue, id: $id, progress: $progress, lease: $lease) { id state progress } }';
const JOB = 'query($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { state progress } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!) { completeJob(queue: $queue, id: $id) { id } }';

let gateway: TestGateway;
let tenant: TestTenant;
const wsClientFor = useWsClients();
const socket = (token = tenant.token): Client => wsClientFor(gateway.wsUrl, token);

const codes = (response: { errors?: readonly { extensions?: Record<string, unknown> }[] | undefined }) =>
  (response.errors ?? []).map((error) => error.extensions?.code);

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  await gateway.stop();
});

describe('reportProgress', () => {
  it('the holder reports progress: subscribers get PROGRESS events, Job.progress reads the latest, others get CONFLICT', async () => {
    const worker = socket();
    const watcher = socket();
    const events = collect<Events>(watcher, EVENTS, { queue: 'progress' });
    const work = collect<Assigned>(worker, WORK, { queues: ['progress'] });
    await wsExecute(watcher, 'query { viewer { tenant { id } } }');
    const { sendJob } = await gqlData<{ sendJob: { id: string } }>(
      gateway.graphqlUrl,
      tenant.token,
      'mutation { sendJob(queue: "progress", data: {}) { id } }',
    );
    const { id, lease } = (await work.waitFor((d) => d.workAssigned.id === sendJob.id)).workAssigned;
    await events.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'ACTIVE');

    const first = await wsExecute(worker, PROGRESS, { queue: 'progress', id, progress: { done: 1, of: 3 } });
    expect(first.data).toEqual({ reportProgress: { id, state: 'ACTIVE', progress: { done: 1, of: 3 } } });
    // Another process with the lease, over HTTP.
    const second = await httpGraphql(gateway.graphqlUrl, tenant.token, PROGRESS, { queue: 'progress', id, progress: 0.66, lease });
    expect(second.body.data).toEqual({ reportProgress: { id, state: 'ACTIVE', progress: 0.66 } });
    await events.waitFor((d) => d.jobEvents.type === 'PROGRESS' && d.jobEvents.progress === 0.66);
    expect(events.results.filter((r) => r.data?.jobEvents.type === 'PROGRESS').map((r) => r.data!.jobEvents.progress)).toEqual([{ done: 1, of: 3 }, 0.66]);
    expect((await gqlData(gateway.graphqlUrl, tenant.token, JOB, { queue: 'progress', id })).job).toEqual({ state: 'ACTIVE', progress: 0.66 });

    // Not the holder, no lease: CONFLICT, over HTTP and from another socket; nothing recorded.
    expect(codes((await httpGraphql(gateway.graphqlUrl, tenant.token, PROGRESS, { queue: 'progress', id, progress: 'x' })).body)).toEqual(['CONFLICT']);
    expect(codes(await wsExecute(socket(), PROGRESS, { queue: 'progress', id, progress: 'x' }))).toEqual(['CONFLICT']);
    // Too large, or null: BAD_USER_INPUT.
    expect(codes(await wsExecute(worker, PROGRESS, { queue: 'progress', id, progress: { text: 'x'.repeat(5_000) } }))).toEqual(['BAD_USER_INPUT']);
    expect((await gqlData(gateway.graphqlUrl, tenant.token, JOB, { queue: 'progress', id })).job.progress).toBe(0.66);

    await wsExecute(worker, COMPLETE, { queue: 'progress', id });
    // Finished: no more progress, but the last one stays readable.
    expect(codes(await wsExecute(worker, PROGRESS, { queue: 'progress', id, progress: 1 }))).toEqual(['CONFLICT']);
    expect((await gqlData(gateway.graphqlUrl, tenant.token, JOB, { queue: 'progress', id })).job).toEqual({ state: 'COMPLETED', progress: 0.66 });
    work.stop();
    events.stop();
  });

  it('another tenant cannot report progress on the job or read it: NOT_FOUND', async () => {
    const worker = socket();
    const work = collect<Assigned>(worker, WORK, { queues: ['private'] });
    const { sendJob } = await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, tenant.token, 'mutation { sendJob(queue: "private", data: {}) { id } }');
    const { id, lease } = (await work.waitFor((d) => d.workAssigned.id === sendJob.id)).workAssigned;
    const intruder = await createTestTenant(gateway);
    const attempt = await httpGraphql(gateway.graphqlUrl, intruder.token, PROGRESS, { queue: 'private', id, progress: 1, lease });
    expect(codes(attempt.body)).toEqual(['NOT_FOUND']);
    expect((await gqlData(gateway.graphqlUrl, intruder.token, JOB, { queue: 'private', id })).job).toBeNull();
    work.stop();
  });
});
