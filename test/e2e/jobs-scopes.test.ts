import { beforeAll, describe, expect, it } from '@jest/globals';
import type { ScopeName } from '../../src/auth/scopes.ts';
import { issueExtraToken } from '../support/gateway.ts';
import { apiFor, useJobsFixture, type Api } from '../support/jobs.ts';

const SEND = 'mutation ($queue: String!) { sendJob(queue: $queue, data: { n: 1 }) { id } }';
const SEND_JOBS = 'mutation ($queue: String!) { sendJobs(queue: $queue, jobs: [{ data: { n: 1 } }, { data: { n: 2 } }]) }';
const CREATE_QUEUE = 'mutation ($queue: String!) { createQueue(name: $queue) { name } }';
const SCHEDULE = 'mutation ($queue: String!) { scheduleJob(queue: $queue, cron: "0 3 * * *") { key } }';
const CANCEL = 'mutation ($queue: String!, $id: ID!) { cancelJob(queue: $queue, id: $id) { state } }';
const DELETE = 'mutation ($queue: String!, $id: ID!) { deleteJob(queue: $queue, id: $id) }';
const JOBS = 'query ($queue: String!) { jobs(queue: $queue) { nodes { id } } }';
const JOB = 'query ($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { id state } }';
const QUEUES = '{ queues { name } }';
const SCHEDULES = '{ schedules { key } }';
const COMPLETE = 'mutation ($queue: String!, $id: ID!) { completeJob(queue: $queue, id: $id, output: { ok: true }) { state } }';
const COMPLETE_MANY = 'mutation ($queue: String!, $id: ID!) { completeJobs(queue: $queue, ids: [$id]) { affected } }';
const FAIL = 'mutation ($queue: String!, $id: ID!) { failJob(queue: $queue, id: $id, error: "no") { state } }';
const TOUCH = 'mutation ($queue: String!, $id: ID!) { touchJob(queue: $queue, id: $id) { state } }';

const f = useJobsFixture();
/** Tokens of the fixture's tenant with fewer scopes. */
const tokens: Record<'read' | 'publish' | 'publishRead' | 'work', Api> = {} as never;

beforeAll(async () => {
  const issue = async (scopes: ScopeName[]) => apiFor(f.gateway, (await issueExtraToken(f.gateway, f.tenant.tenant.id, scopes)).token);
  tokens.read = await issue(['READ']);
  tokens.publish = await issue(['PUBLISH']);
  tokens.publishRead = await issue(['PUBLISH', 'READ']);
  tokens.work = await issue(['WORK']);
});

const sendAsOwner = async (queue: string): Promise<string> => (await f.api.data<{ sendJob: { id: string } }>(SEND, { queue })).sendJob.id;

describe('a READ-only token', () => {
  it('cannot send, publish a batch, create a queue or schedule (FORBIDDEN), and nothing is written', async () => {
    const queue = f.queueName('read-only');
    const before = await f.tables.countUnder(f.qualified(''));
    for (const mutation of [SEND, SEND_JOBS, CREATE_QUEUE, SCHEDULE]) {
      expect(await tokens.read.errorCode(mutation, { queue })).toBe('FORBIDDEN');
    }
    expect(await f.tables.countUnder(f.qualified(''))).toEqual(before);
    expect(await f.tables.queue(f.qualified(queue))).toBeUndefined();
  });

  it('cannot cancel or delete a job, which stays as it was', async () => {
    const queue = f.queueName('read-only-commands');
    const id = await sendAsOwner(queue);
    expect(await tokens.read.errorCode(CANCEL, { queue, id })).toBe('FORBIDDEN');
    expect(await tokens.read.errorCode(DELETE, { queue, id })).toBe('FORBIDDEN');
    expect((await f.tables.job(id))?.state).toBe('created');
  });

  it('reads jobs, queues and schedules', async () => {
    const queue = f.queueName('readable');
    const id = await sendAsOwner(queue);
    expect(await tokens.read.data(JOBS, { queue })).toEqual({ jobs: { nodes: [{ id }] } });
    expect(await tokens.read.data(JOB, { queue, id })).toEqual({ job: { id, state: 'CREATED' } });
    expect((await tokens.read.data<{ queues: { name: string }[] }>(QUEUES)).queues.map((q) => q.name)).toContain(queue);
  });
});

describe('a PUBLISH-only token', () => {
  it('sends (the job lands in pg-boss) but cannot read jobs, queues or schedules (FORBIDDEN)', async () => {
    const queue = f.queueName('publish-only');
    const { sendJob } = await tokens.publish.data(SEND, { queue });
    expect(await f.tables.job(sendJob.id)).toMatchObject({ name: f.qualified(queue), state: 'created' });

    expect(await tokens.publish.errorCode(JOBS, { queue })).toBe('FORBIDDEN');
    expect(await tokens.publish.errorCode(JOB, { queue, id: sendJob.id })).toBe('FORBIDDEN');
    expect(await tokens.publish.errorCode(QUEUES)).toBe('FORBIDDEN');
    expect(await tokens.publish.errorCode(SCHEDULES)).toBe('FORBIDDEN');
  });
});

describe('settling jobs needs WORK', () => {
  it('refuses completeJob, completeJobs, failJob and touchJob without WORK; the job stays active', async () => {
    const queue = f.queueName('needs-work');
    const id = await sendAsOwner(queue);
    await f.boss.fetch(f.qualified(queue));
    for (const mutation of [COMPLETE, COMPLETE_MANY, FAIL, TOUCH]) {
      expect(await tokens.publishRead.errorCode(mutation, { queue, id })).toBe('FORBIDDEN');
    }
    expect(await f.tables.job(id)).toMatchObject({ state: 'active', output: null });

    // A WORK token settles it, but cannot publish.
    expect(await tokens.work.data(COMPLETE, { queue, id })).toEqual({ completeJob: { state: 'COMPLETED' } });
    expect(await f.tables.job(id)).toMatchObject({ state: 'completed', output: { ok: true } });
    expect(await tokens.work.errorCode(SEND, { queue })).toBe('FORBIDDEN');
    expect(await f.tables.jobsIn(f.qualified(queue))).toHaveLength(1);
  });
});
