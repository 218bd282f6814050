import { describe, expect, it } from '@jest/globals';
import { useJobsFixture } from '../support/jobs.ts';
import { SEND_JOBS } from '../support/operations.ts';

const f = useJobsFixture();

describe('sendJobs (batch publish)', () => {
  it('inserts the batch under the tenant prefix and returns the ids in input order', async () => {
    const queue = f.queueName('batch');
    const jobs = Array.from({ length: 25 }, (_, i) => ({ data: { seq: i } }));

    const { sendJobs } = await f.api.data<{ sendJobs: string[] }>(SEND_JOBS, { queue, jobs });

    expect(sendJobs).toHaveLength(25);
    expect(new Set(sendJobs).size).toBe(25);
    // Time-ordered (UUIDv7) ids: the batch's rows go to the edge of the job table's key index.
    for (const id of sendJobs) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const [i, id] of sendJobs.entries()) {
      expect(await f.tables.job(id)).toMatchObject({ name: f.qualified(queue), state: 'created', data: { seq: i } });
    }
    expect(await f.tables.jobsIn(f.qualified(queue))).toHaveLength(25);
  });

  it('applies per-job options', async () => {
    const queue = f.queueName('batch-options');
    const deadLetter = f.queueName('batch-dlq');
    const { sendJobs: ids } = await f.api.data<{ sendJobs: string[] }>(SEND_JOBS, {
      queue,
      jobs: [
        { data: { n: 0 }, options: { priority: 3, retryLimit: 7, deadLetter } },
        { data: { n: 1 }, options: { delaySeconds: 3600, singletonKey: 'k1' } },
        { data: [0, 1] },
      ],
    });

    expect(ids).toHaveLength(3);
    const [first, second, third] = await Promise.all(ids.map((id) => f.tables.job(id)));
    expect(first).toMatchObject({ data: { n: 0 }, priority: 3, retry_limit: 7, dead_letter: f.qualified(deadLetter) });
    expect(second).toMatchObject({ data: { n: 1 }, singleton_key: 'k1' });
    expect(second!.start_after.getTime() - second!.created_on.getTime()).toBe(3600 * 1000);
    expect(third).toMatchObject({ data: [0, 1], priority: 0 });
    expect(await f.tables.queue(f.qualified(deadLetter))).toBeDefined();
  });

  it('leaves out jobs a singleton rule suppressed, keeping the order of the others', async () => {
    const queue = f.queueName('batch-singleton');
    const { sendJobs: ids } = await f.api.data<{ sendJobs: string[] }>(SEND_JOBS, {
      queue,
      jobs: [
        { data: { n: 0 }, options: { singletonKey: 'same', singletonSeconds: 3600 } },
        { data: { n: 1 }, options: { singletonKey: 'same', singletonSeconds: 3600 } },
        { data: { n: 2 } },
      ],
    });
    expect(ids).toHaveLength(2);
    expect((await f.tables.job(ids[0]!))?.data).toEqual({ n: 0 });
    expect((await f.tables.job(ids[1]!))?.data).toEqual({ n: 2 });
    expect(await f.tables.jobsIn(f.qualified(queue))).toHaveLength(2);
  });

  it('refuses more than the batch cap (1000) with BAD_USER_INPUT and writes nothing', async () => {
    const queue = f.queueName('too-many');
    await f.api.data(SEND_JOBS, { queue, jobs: [{ data: { warmup: true } }] });
    const before = await f.tables.countUnder(f.qualified(''));

    const jobs = Array.from({ length: 1001 }, (_, i) => ({ data: { i } }));
    expect(await f.api.errorCode(SEND_JOBS, { queue, jobs })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(SEND_JOBS, { queue: f.queueName('too-many-new'), jobs })).toBe('BAD_USER_INPUT');

    expect(await f.tables.countUnder(f.qualified(''))).toEqual(before);
    expect(await f.tables.jobsIn(f.qualified(queue))).toHaveLength(1);

    // Exactly the cap is accepted.
    const { sendJobs } = await f.api.data<{ sendJobs: string[] }>(SEND_JOBS, { queue, jobs: jobs.slice(0, 1000) });
    expect(sendJobs).toHaveLength(1000);
    expect(await f.tables.jobsIn(f.qualified(queue))).toHaveLength(1001);
  });

  it("refuses the whole batch when one job's data is invalid, writing nothing", async () => {
    const queue = f.queueName('batch-invalid');
    const before = await f.tables.countUnder(f.qualified(''));
    for (const bad of [42, 'text', { big: 'x'.repeat(256 * 1024) }]) {
      expect(await f.api.errorCode(SEND_JOBS, { queue, jobs: [{ data: { ok: true } }, { data: bad }] })).toBe('BAD_USER_INPUT');
    }
    expect(await f.tables.countUnder(f.qualified(''))).toEqual(before);
  });

  it('returns an empty list for an empty batch', async () => {
    expect(await f.api.data(SEND_JOBS, { queue: f.queueName('empty'), jobs: [] })).toEqual({ sendJobs: [] });
  });

  it('refuses debouncing in a batch (it needs sendJob) and writes nothing', async () => {
    const queue = f.queueName('batch-debounce');
    const code = await f.api.errorCode(SEND_JOBS, {
      queue,
      jobs: [{ data: { n: 0 } }, { data: { n: 1 }, options: { debounceSeconds: 60, singletonKey: 'd' } }],
    });
    expect(code).toBe('BAD_USER_INPUT');
    expect(await f.tables.jobsIn(f.qualified(queue))).toHaveLength(0);
  });
});
