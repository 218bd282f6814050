import { beforeAll, describe, expect, it } from '@jest/globals';
import { JOB_FIELDS, useJobsFixture } from '../support/jobs.ts';

const JOB = `query ($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { ${JOB_FIELDS} } }`;
const JOBS = `query ($queue: String!, $states: [JobState!], $first: Int, $after: String) {
  jobs(queue: $queue, states: $states, first: $first, after: $after) { nodes { id state data } pageInfo { endCursor hasNextPage } }
}`;

interface Page {
  nodes: { id: string; state: string; data: { seq: number } }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

const f = useJobsFixture();

const iso = (date: Date | null) => date?.toISOString() ?? null;

describe('job(queue, id)', () => {
  it('returns the job as pg-boss stores it, queue and dead letter without the tenant prefix', async () => {
    const queue = f.queueName('detail');
    const deadLetter = f.queueName('detail-dlq');
    const id = await f.api.sendJob(
      queue,
      { invoice: 'INV-1', lines: [1, 2] },
      {
        priority: 4,
        retryLimit: 3,
        retryDelay: 2,
        singletonKey: 'INV-1',
        expireInSeconds: 300,
        deadLetter,
        groupId: 'acme',
      },
    );

    const row = (await f.tables.job(id))!;
    const { job } = await f.api.data(JOB, { queue, id });
    expect(job).toEqual({
      id,
      queue,
      state: 'CREATED',
      data: { invoice: 'INV-1', lines: [1, 2] },
      output: null,
      priority: 4,
      retryCount: 0,
      retryLimit: 3,
      retryDelay: 2,
      retryBackoff: false,
      retryDelayMax: null,
      expireInSeconds: 300,
      deleteAfterSeconds: row.deletion_seconds,
      heartbeatSeconds: null,
      singletonKey: 'INV-1',
      groupId: 'acme',
      groupTier: null,
      deadLetter,
      policy: 'standard',
      startAfter: iso(row.start_after),
      createdOn: iso(row.created_on),
      startedOn: null,
      completedOn: null,
      keepUntil: iso(row.keep_until),
      heartbeatOn: null,
    });
    expect(row).toMatchObject({ name: f.qualified(queue), dead_letter: f.qualified(deadLetter) });
  });

  it('follows the job through pg-boss: started, completed, output', async () => {
    const queue = f.queueName('lifecycle');
    const id = await f.api.sendJob(queue, { n: 1 });
    await f.boss.fetch(f.qualified(queue));
    await f.boss.complete(f.qualified(queue), id, { result: 'ok' });

    const row = (await f.tables.job(id))!;
    const { job } = await f.api.data(JOB, { queue, id });
    expect(job).toMatchObject({
      state: 'COMPLETED',
      output: { result: 'ok' },
      startedOn: iso(row.started_on),
      completedOn: iso(row.completed_on),
    });
    expect(job.startedOn).not.toBeNull();
    expect(job.completedOn).not.toBeNull();
  });

  it('is null for an unknown id, a malformed id, another queue or a missing queue', async () => {
    const queue = f.queueName('lookup');
    const other = f.queueName('lookup-other');
    const id = await f.api.sendJob(queue, { n: 1 });
    await f.api.sendJob(other, { n: 2 });
    for (const [q, i] of [
      [queue, crypto.randomUUID()],
      [queue, 'nope'],
      [other, id],
      [f.queueName('missing'), id],
    ] as const) {
      expect(await f.api.data(JOB, { queue: q, id: i })).toEqual({ job: null });
    }
  });
});

describe('jobs(queue, states, first, after)', () => {
  let queue: string;
  const sent: string[] = [];

  /** Every id of a queue, following `endCursor` page by page. */
  async function allPages(name: string, first: number): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    for (;;) {
      const { jobs }: { jobs: Page } = await f.api.data<{ jobs: Page }>(JOBS, { queue: name, first, after });
      ids.push(...jobs.nodes.map((job) => job.id));
      sizes.push(jobs.nodes.length);
      if (!jobs.pageInfo.hasNextPage) return { ids, sizes };
      after = jobs.pageInfo.endCursor;
    }
  }

  beforeAll(async () => {
    queue = f.queueName('paged');
    for (let seq = 0; seq < 7; seq++) sent.push(await f.api.sendJob(queue, { seq }));
    await f.api.sendJob(f.queueName('elsewhere'), { seq: 99 });
  });

  it('pages through every job newest first, without gaps or repeats', async () => {
    const { ids: seen, sizes } = await allPages(queue, 3);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([...sent].reverse());

    // The same order as pg-boss's table, newest first.
    const rows = await f.tables.jobsIn(f.qualified(queue));
    expect(seen).toEqual(rows.map((row) => row.id).reverse());
  });

  it('pages through a batch sharing one creation time', async () => {
    const batch = f.queueName('paged-batch');
    const { sendJobs } = await f.api.data<{ sendJobs: string[] }>('mutation ($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }', {
      queue: batch,
      jobs: Array.from({ length: 8 }, (_, seq) => ({ data: { seq } })),
    });
    const { ids, sizes } = await allPages(batch, 3);
    expect(sizes).toEqual([3, 3, 2]);
    expect([...ids].sort()).toEqual([...sendJobs].sort());
  });

  it('filters by state', async () => {
    const cancelled = [sent[1]!, sent[4]!];
    await f.api.data('mutation ($queue: String!, $ids: [ID!]!) { cancelJobs(queue: $queue, ids: $ids) { affected } }', { queue, ids: cancelled });
    expect(
      (await f.tables.jobsIn(f.qualified(queue)))
        .filter((row) => row.state === 'cancelled')
        .map((row) => row.id)
        .sort(),
    ).toEqual([...cancelled].sort());

    const onlyCancelled = await f.api.data<{ jobs: Page }>(JOBS, { queue, states: ['CANCELLED'] });
    expect(onlyCancelled.jobs.nodes.map((job) => job.id)).toEqual([sent[4], sent[1]]);
    expect(onlyCancelled.jobs.nodes.every((job) => job.state === 'CANCELLED')).toBe(true);

    const waiting = await f.api.data<{ jobs: Page }>(JOBS, { queue, states: ['CREATED', 'RETRY'] });
    expect(waiting.jobs.nodes.map((job) => job.data.seq)).toEqual([6, 5, 3, 2, 0]);

    expect((await f.api.data<{ jobs: Page }>(JOBS, { queue, states: ['FAILED'] })).jobs).toEqual({
      nodes: [],
      pageInfo: { endCursor: null, hasNextPage: false },
    });
  });

  it('refuses a bad page size or cursor with BAD_USER_INPUT', async () => {
    expect(await f.api.errorCode(JOBS, { queue, first: 0 })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(JOBS, { queue, first: 501 })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(JOBS, { queue, after: 'not-a-cursor' })).toBe('BAD_USER_INPUT');
  });

  it('is empty for a queue without jobs', async () => {
    expect((await f.api.data<{ jobs: Page }>(JOBS, { queue: f.queueName('nothing') })).jobs.nodes).toEqual([]);
  });
});
