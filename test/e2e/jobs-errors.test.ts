import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGateway, type TestGateway } from '../support/gateway.ts';
import { apiFor, useJobsFixture, type Api } from '../support/jobs.ts';
import { SEND_JOBS } from '../support/operations.ts';

/** Error handling for failed operations: nothing a refused call asked for may reach pg-boss. */

const SEND = 'mutation ($queue: String!, $data: JSON) { sendJob(queue: $queue, data: $data) { id } }';
const CREATE_QUEUE = 'mutation ($queue: String!) { createQueue(name: $queue) { name } }';
const UPDATE_QUEUE = 'mutation ($queue: String!) { updateQueue(name: $queue, options: { retryLimit: 1 }) { name } }';
const DELETE_QUEUE = 'mutation ($queue: String!) { deleteQueue(name: $queue) }';
const SCHEDULE = 'mutation ($queue: String!, $cron: String!, $data: JSON) { scheduleJob(queue: $queue, cron: $cron, data: $data) { key } }';
const UNSCHEDULE = 'mutation ($queue: String!) { unscheduleJob(queue: $queue) }';
const CANCEL = 'mutation ($queue: String!, $id: ID!) { cancelJob(queue: $queue, id: $id) { id } }';
const COMPLETE = 'mutation ($queue: String!, $id: ID!, $output: JSON) { completeJob(queue: $queue, id: $id, output: $output) { id } }';
const FAIL = 'mutation ($queue: String!, $id: ID!, $error: JSON) { failJob(queue: $queue, id: $id, error: $error) { id } }';
const JOBS = 'query ($queue: String!) { jobs(queue: $queue) { nodes { id } } }';
const QUEUE = 'query ($queue: String!) { queue(name: $queue) { name } }';

const DEFAULT_LIMIT = 256 * 1024;
/** `{"blob":"xxx…"}` of exactly `bytes` bytes of JSON. */
const payloadOf = (bytes: number) => ({ blob: 'x'.repeat(bytes - '{"blob":""}'.length) });

const f = useJobsFixture();

/** Asserts that the tenant's rows in pg-boss (jobs, queues, schedules) did not change during `action`. */
async function expectNothingWritten(action: () => Promise<void>): Promise<void> {
  const before = await f.tables.countUnder(f.qualified(''));
  await action();
  expect(await f.tables.countUnder(f.qualified(''))).toEqual(before);
}

describe('bad queue names', () => {
  const BAD_NAMES = [
    '',
    '_private',
    '__pgboss__send-it',
    '.hidden',
    '-dash',
    'a/../b',
    '..',
    'a//b',
    'a/',
    '/a',
    'with space',
    'ünïcode',
    'semi;colon',
    'a'.repeat(101),
  ];

  it.each([
    ['sendJob', SEND, { data: { a: 1 } }],
    ['sendJobs', SEND_JOBS, { jobs: [{ data: { a: 1 } }] }],
    ['createQueue', CREATE_QUEUE, {}],
    ['scheduleJob', SCHEDULE, { cron: '0 3 * * *', data: { a: 1 } }],
    ['jobs', JOBS, {}],
  ])('%s refuses every invalid name with BAD_USER_INPUT and writes nothing', async (_op, operation, variables) => {
    await expectNothingWritten(async () => {
      for (const queue of BAD_NAMES) {
        expect([queue, await f.api.errorCode(operation, { queue, ...variables })]).toEqual([queue, 'BAD_USER_INPUT']);
      }
    });
  });

  it('refuses an invalid dead letter name', async () => {
    const queue = f.queueName('dlq-name');
    await expectNothingWritten(async () => {
      expect(await f.api.errorCode('mutation ($queue: String!) { sendJob(queue: $queue, data: {}, options: { deadLetter: "../x" }) { id } }', { queue })).toBe(
        'BAD_USER_INPUT',
      );
    });
  });

  it('accepts nested names up to 100 characters, stored under the tenant prefix', async () => {
    const nested = `${f.queueName('team')}/mail.v2/high_prio-1`;
    const longest = `${f.queueName('long')}-`.padEnd(100, 'z');
    for (const queue of [nested, longest]) {
      const { sendJob } = await f.api.data(SEND, { queue, data: { ok: true } });
      expect(await f.tables.job(sendJob.id)).toMatchObject({ name: `${f.tenant.tenant.id}/${queue}` });
    }
  });
});

describe('job data', () => {
  it.each([
    ['a number', 42],
    ['a string', 'hello'],
    ['a boolean', true],
  ])('refuses %s as data with BAD_USER_INPUT and writes nothing', async (_kind, data) => {
    const queue = f.queueName('scalar');
    await expectNothingWritten(async () => {
      expect(await f.api.errorCode(SEND, { queue, data })).toBe('BAD_USER_INPUT');
      expect(await f.api.errorCode(SEND_JOBS, { queue, jobs: [{ data }] })).toBe('BAD_USER_INPUT');
    });
  });

  it('refuses null data with BAD_USER_INPUT and writes nothing', async () => {
    const queue = f.queueName('null');
    await expectNothingWritten(async () => {
      expect(await f.api.errorCode(SEND, { queue, data: null })).toBe('BAD_USER_INPUT');
      expect(await f.api.errorCode('mutation ($queue: String!) { sendJob(queue: $queue, data: null) { id } }', { queue })).toBe('BAD_USER_INPUT');
      expect(await f.api.errorCode('mutation ($queue: String!) { sendJob(queue: $queue) { id } }', { queue })).toBe('BAD_USER_INPUT');
      expect(await f.api.errorCode(SEND_JOBS, { queue, jobs: [{ data: null }] })).toBe('BAD_USER_INPUT');
    });
  });

  it('refuses data over 256 KiB of JSON with BAD_USER_INPUT and writes nothing; exactly the limit is accepted', async () => {
    const queue = f.queueName('oversized');
    await expectNothingWritten(async () => {
      expect(await f.api.errorCode(SEND, { queue, data: payloadOf(DEFAULT_LIMIT + 1) })).toBe('BAD_USER_INPUT');
      expect(await f.api.errorCode(SCHEDULE, { queue, cron: '0 3 * * *', data: payloadOf(DEFAULT_LIMIT + 1) })).toBe('BAD_USER_INPUT');
    });
    const { sendJob } = await f.api.data(SEND, { queue, data: payloadOf(DEFAULT_LIMIT) });
    expect((await f.tables.job(sendJob.id))?.data).toEqual(payloadOf(DEFAULT_LIMIT));
  });

  it('refuses an oversized output or error, leaving the job active', async () => {
    const queue = f.queueName('big-output');
    const { sendJob } = await f.api.data(SEND, { queue, data: {} });
    await f.boss.fetch(f.qualified(queue));
    expect(await f.api.errorCode(COMPLETE, { queue, id: sendJob.id, output: payloadOf(DEFAULT_LIMIT + 1) })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(FAIL, { queue, id: sendJob.id, error: payloadOf(DEFAULT_LIMIT + 1) })).toBe('BAD_USER_INPUT');
    expect(await f.tables.job(sendJob.id)).toMatchObject({ state: 'active', output: null });
  });

  describe('with maxJobDataBytes configured', () => {
    let small: TestGateway;
    let api: Api;
    beforeAll(async () => {
      small = await startGateway({ maxJobDataBytes: 1024 });
      api = apiFor(small, f.tenant.token);
    });
    afterAll(() => small.stop());

    it('applies the configured limit', async () => {
      const queue = f.queueName('configured');
      await expectNothingWritten(async () => {
        expect(await api.errorCode(SEND, { queue, data: payloadOf(1025) })).toBe('BAD_USER_INPUT');
        expect(await api.errorCode(SEND_JOBS, { queue, jobs: [{ data: payloadOf(100) }, { data: payloadOf(1025) }] })).toBe('BAD_USER_INPUT');
      });
      const { sendJob } = await api.data(SEND, { queue, data: payloadOf(1024) });
      expect((await f.tables.job(sendJob.id))?.name).toBe(f.qualified(queue));
      // The default gateway still takes what this one refuses.
      expect(await f.api.data(SEND, { queue, data: payloadOf(1025) })).toMatchObject({ sendJob: { id: expect.any(String) } });
    });
  });
});

describe('unknown queue', () => {
  it('answers NOT_FOUND (or null) and creates nothing', async () => {
    const queue = f.queueName('unknown');
    const id = crypto.randomUUID();
    await expectNothingWritten(async () => {
      expect(await f.api.errorCode(UPDATE_QUEUE, { queue })).toBe('NOT_FOUND');
      expect(await f.api.errorCode(DELETE_QUEUE, { queue })).toBe('NOT_FOUND');
      expect(await f.api.errorCode(UNSCHEDULE, { queue })).toBe('NOT_FOUND');
      expect(await f.api.errorCode(CANCEL, { queue, id })).toBe('NOT_FOUND');
      expect(await f.api.errorCode(COMPLETE, { queue, id })).toBe('NOT_FOUND');
      expect(await f.api.data(QUEUE, { queue })).toEqual({ queue: null });
      expect(await f.api.data(JOBS, { queue })).toEqual({ jobs: { nodes: [] } });
    });
  });
});

describe('bad cron', () => {
  it('refuses an invalid cron expression with BAD_USER_INPUT and writes nothing', async () => {
    const queue = f.queueName('cron');
    await expectNothingWritten(async () => {
      expect(await f.api.errorCode(SCHEDULE, { queue, cron: 'at noon' })).toBe('BAD_USER_INPUT');
    });
  });
});
