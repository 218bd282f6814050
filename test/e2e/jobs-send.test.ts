import { describe, expect, it } from '@jest/globals';
import { JOB_FIELDS, useJobsFixture } from '../support/jobs.ts';

const SEND = `mutation ($queue: String!, $data: JSON!, $options: JobOptionsInput) {
  sendJob(queue: $queue, data: $data, options: $options) { ${JOB_FIELDS} }
}`;
const FAIL = 'mutation ($queue: String!, $id: ID!, $error: JSON) { failJob(queue: $queue, id: $id, error: $error) { state retryCount } }';
const QUEUE_COUNTS = 'query ($name: String!) { queue(name: $name) { queuedCount deferredCount totalCount } }';
const JOBS = 'query ($queue: String!) { jobs(queue: $queue) { nodes { id queue state data } } }';

interface SentJob {
  id: string;
  queue: string;
  state: string;
  data: unknown;
  startAfter: string;
  deadLetter: string | null;
}

const f = useJobsFixture();

const send = async (queue: string, data: unknown, options?: Record<string, unknown>): Promise<SentJob | null> =>
  (await f.api.data<{ sendJob: SentJob | null }>(SEND, { queue, data, options })).sendJob;

const sendId = async (queue: string, data: unknown, options?: Record<string, unknown>): Promise<string> => {
  const job = await send(queue, data, options);
  if (!job) throw new Error('sendJob returned null');
  return job.id;
};

describe('sendJob', () => {
  it('publishes a job stored in pg-boss with the tenant prefix, creating the queue on first use', async () => {
    const queue = f.queueName('emails');
    expect(await f.tables.queue(f.qualified(queue))).toBeUndefined();

    const job = await send(queue, { to: 'ada@example.com', tags: ['welcome'] });

    expect(job).toMatchObject({ queue, state: 'CREATED', data: { to: 'ada@example.com', tags: ['welcome'] } });
    expect(job!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await f.tables.job(job!.id)).toMatchObject({
      name: `${f.tenant.tenant.id}/${queue}`,
      state: 'created',
      data: { to: 'ada@example.com', tags: ['welcome'] },
    });
    expect(await f.tables.queue(f.qualified(queue))).toMatchObject({ name: f.qualified(queue), policy: 'standard' });
    // A worker on the prefixed name receives it.
    const [fetched] = await f.boss.fetch(f.qualified(queue));
    expect(fetched).toMatchObject({ id: job!.id, data: { to: 'ada@example.com', tags: ['welcome'] } });
  });

  it('answers a selection of id, queue and state from the send itself, and any other field from the stored row', async () => {
    const queue = f.queueName('lean');
    const lean = (
      await f.api.data<{ sendJob: { id: string; queue: string; state: string } }>(
        'mutation($queue: String!) { sendJob(queue: $queue, data: { n: 1 }) { id queue state } }',
        { queue },
      )
    ).sendJob;
    expect(lean).toEqual({ id: expect.any(String), queue, state: 'CREATED' });
    expect(await f.tables.job(lean.id)).toMatchObject({ state: 'created', data: { n: 1 } });

    const full = (
      await f.api.data<{ sendJob: { id: string; data: unknown; priority: number; retryLimit: number; createdOn: string } }>(
        'mutation($queue: String!) { sendJob(queue: $queue, data: { n: 2 }, options: { priority: 3 }) { id data priority retryLimit createdOn } }',
        { queue },
      )
    ).sendJob;
    const row = await f.tables.job(full.id);
    expect(full).toMatchObject({ data: { n: 2 }, priority: 3, retryLimit: row?.retry_limit });
    expect(new Date(full.createdOn).getTime()).toBe(row?.created_on.getTime());
  });

  it('creates the queue once when the first sends arrive together', async () => {
    const queue = f.queueName('burst');
    const jobs = await Promise.all(Array.from({ length: 8 }, (_, n) => send(queue, { n })));
    expect(jobs.every((job) => job !== null)).toBe(true);
    expect(await f.tables.queue(f.qualified(queue))).toBeDefined();
    expect((await f.tables.jobsIn(f.qualified(queue))).map((row) => (row.data as { n: number }).n).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('accepts an array as data', async () => {
    const queue = f.queueName('arrays');
    const id = await sendId(queue, [1, 'two', { three: 3 }]);
    expect((await f.tables.job(id))?.data).toEqual([1, 'two', { three: 3 }]);
  });

  it('stores every per-job option on the pg-boss row', async () => {
    const queue = f.queueName('options');
    const deadLetter = f.queueName('options-dlq');
    const id = crypto.randomUUID();
    const job = await send(
      queue,
      { n: 1 },
      {
        id,
        priority: 7,
        retryLimit: 5,
        retryDelay: 11,
        retryBackoff: true,
        retryDelayMax: 300,
        expireInSeconds: 120,
        heartbeatSeconds: 15,
        deleteAfterSeconds: 60,
        retentionSeconds: 86400,
        singletonKey: 'only-one',
        groupId: 'customer-42',
        groupTier: 'gold',
        deadLetter,
      },
    );
    expect(job).toMatchObject({ id, deadLetter });

    const row = (await f.tables.job(id))!;
    expect(row).toMatchObject({
      name: f.qualified(queue),
      priority: 7,
      retry_limit: 5,
      retry_delay: 11,
      retry_backoff: true,
      retry_delay_max: 300,
      expire_seconds: 120,
      heartbeat_seconds: 15,
      deletion_seconds: 60,
      singleton_key: 'only-one',
      group_id: 'customer-42',
      group_tier: 'gold',
      dead_letter: f.qualified(deadLetter),
    });
    // retentionSeconds bounds how long the job may wait: keep_until = start_after + retention.
    expect(row.keep_until.getTime() - row.start_after.getTime()).toBe(86400 * 1000);
    expect(await f.tables.queue(f.qualified(deadLetter))).toBeDefined();
  });

  it('delivers higher priority first to a pg-boss worker', async () => {
    const queue = f.queueName('priority');
    const low = await sendId(queue, { p: 'low' }, { priority: 1 });
    const high = await sendId(queue, { p: 'high' }, { priority: 10 });
    const normal = await sendId(queue, { p: 'normal' });
    const mid = await sendId(queue, { p: 'mid' }, { priority: 5 });

    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [job] = await f.boss.fetch(f.qualified(queue));
      order.push(job!.id);
    }
    expect(order).toEqual([high, mid, low, normal]);
  });

  it('defers a job with delaySeconds or startAfter: not fetchable yet, counted as deferred', async () => {
    const queue = f.queueName('deferred');
    const delayed = await sendId(queue, { kind: 'delay' }, { delaySeconds: 3600 });
    const startAfter = new Date(Date.now() + 2 * 86400 * 1000);
    startAfter.setMilliseconds(0);
    const scheduled = await send(queue, { kind: 'date' }, { startAfter: startAfter.toISOString() });

    const delayedRow = (await f.tables.job(delayed))!;
    expect(delayedRow.start_after.getTime() - delayedRow.created_on.getTime()).toBe(3600 * 1000);
    expect((await f.tables.job(scheduled!.id))!.start_after.toISOString()).toBe(startAfter.toISOString());
    expect(scheduled!.startAfter).toBe(startAfter.toISOString());

    expect(await f.boss.fetch(f.qualified(queue))).toEqual([]);
    expect(await f.api.data(QUEUE_COUNTS, { name: queue })).toEqual({ queue: { queuedCount: 2, deferredCount: 2, totalCount: 2 } });
  });

  it('suppresses a second send with the same singletonKey in the singleton window (null)', async () => {
    const queue = f.queueName('singleton');
    const first = await send(queue, { n: 1 }, { singletonKey: 'report-7', singletonSeconds: 600 });
    const second = await send(queue, { n: 2 }, { singletonKey: 'report-7', singletonSeconds: 600 });
    const otherKey = await send(queue, { n: 3 }, { singletonKey: 'report-8', singletonSeconds: 600 });

    expect(first).not.toBeNull();
    expect(second).toBeNull();
    expect(otherKey).not.toBeNull();
    const rows = await f.tables.jobsIn(f.qualified(queue));
    expect(rows.map((row) => [row.singleton_key, row.data])).toEqual([
      ['report-7', { n: 1 }],
      ['report-8', { n: 3 }],
    ]);
  });

  it('throttles: one job per window, extra sends return null', async () => {
    const queue = f.queueName('throttle');
    const first = await send(queue, { n: 1 }, { throttleSeconds: 3600 });
    const second = await send(queue, { n: 2 }, { throttleSeconds: 3600 });
    expect(first).not.toBeNull();
    expect(second).toBeNull();
    expect((await f.tables.jobsIn(f.qualified(queue))).map((row) => row.data)).toEqual([{ n: 1 }]);
  });

  it('debounces: an extra send moves to the next window, a third is dropped', async () => {
    const queue = f.queueName('debounce');
    const first = await send(queue, { n: 1 }, { debounceSeconds: 3600 });
    const second = await send(queue, { n: 2 }, { debounceSeconds: 3600 });
    const third = await send(queue, { n: 3 }, { debounceSeconds: 3600 });
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(third).toBeNull();

    const rows = await f.tables.jobsIn(f.qualified(queue));
    expect(rows.map((row) => row.data)).toEqual([{ n: 1 }, { n: 2 }]);
    const next = rows.find((row) => row.id === second!.id)!;
    expect(next.start_after.getTime()).toBeGreaterThan(next.created_on.getTime());
    expect(await f.api.data(QUEUE_COUNTS, { name: queue })).toEqual({ queue: { queuedCount: 2, deferredCount: 1, totalCount: 2 } });
  });

  it('honours retryLimit: retried after each failure, failed after retryLimit + 1 attempts', async () => {
    const queue = f.queueName('flaky');
    const id = await sendId(queue, { n: 1 }, { retryLimit: 2, retryDelay: 0 });

    const states: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [job] = await f.boss.fetch(f.qualified(queue));
      expect(job?.id).toBe(id);
      expect((await f.tables.job(id))?.state).toBe('active');
      const { failJob } = await f.api.data(FAIL, { queue, id, error: { attempt } });
      states.push(failJob.state);
    }
    expect(states).toEqual(['RETRY', 'RETRY', 'FAILED']);
    expect(await f.tables.job(id)).toMatchObject({ state: 'failed', retry_count: 2, retry_limit: 2, output: { attempt: 3 } });
    expect(await f.boss.fetch(f.qualified(queue))).toEqual([]);
  });

  it('moves a job whose retries are exhausted to its dead letter queue (prefixed in pg-boss, not in the API)', async () => {
    const queue = f.queueName('payments');
    const deadLetter = f.queueName('payments-dlq');
    const id = await sendId(queue, { amount: 42 }, { retryLimit: 0, deadLetter });

    const [job] = await f.boss.fetch(f.qualified(queue));
    expect(job?.id).toBe(id);
    await f.api.data(FAIL, { queue, id, error: 'card declined' });

    expect(await f.tables.job(id)).toMatchObject({ state: 'failed', output: { message: 'card declined' } });
    const dead = await f.tables.jobsIn(f.qualified(deadLetter));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ name: f.qualified(deadLetter), state: 'created', data: { amount: 42 }, source_name: f.qualified(queue), source_id: id });

    const { jobs } = await f.api.data(JOBS, { queue: deadLetter });
    expect(jobs.nodes).toEqual([{ id: dead[0]!.id, queue: deadLetter, state: 'CREATED', data: { amount: 42 } }]);
  });

  it('moves failed jobs to the dead letter queue set on the queue', async () => {
    const queue = f.queueName('imports');
    const deadLetter = f.queueName('imports-dlq');
    await f.api.data('mutation ($name: String!, $options: QueueOptionsInput) { createQueue(name: $name, options: $options) { name } }', {
      name: queue,
      options: { deadLetter, retryLimit: 0 },
    });
    const id = await sendId(queue, { file: 'a.csv' });
    expect((await f.tables.job(id))?.dead_letter).toBe(f.qualified(deadLetter));

    const [job] = await f.boss.fetch(f.qualified(queue));
    await f.boss.fail(f.qualified(queue), job!.id, { reason: 'bad header' });

    expect((await f.tables.jobsIn(f.qualified(deadLetter))).map((row) => row.data)).toEqual([{ file: 'a.csv' }]);
    const { jobs } = await f.api.data(JOBS, { queue: deadLetter });
    expect(jobs.nodes).toMatchObject([{ queue: deadLetter, data: { file: 'a.csv' } }]);
  });
});
