/**
 * findJobs and blockedKeys: pg-boss's findJobs filters and getBlockedKeys
 * through the gateway, checked against pgboss.job.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { useJobsFixture } from '../support/jobs.ts';

const FIND = `query($queue: String!, $singletonKey: String, $data: JSON, $states: [JobState!], $first: Int, $after: String) {
  findJobs(queue: $queue, singletonKey: $singletonKey, data: $data, states: $states, first: $first, after: $after) {
    nodes { id state data singletonKey } pageInfo { endCursor hasNextPage } } }`;
const BLOCKED = 'query($queue: String!, $first: Int, $after: String) { blockedKeys(queue: $queue, first: $first, after: $after) }';

const f = useJobsFixture();
let queue: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  queue = f.queueName('customers');
  const send = async (label: string, data: Record<string, unknown>, options: Record<string, unknown> = {}) => {
    ids[label] = await f.api.sendJob(queue, data, options);
  };
  await send('ann1', { customer: 'ann', tier: 'gold', items: [1, 2] });
  await send('bob', { customer: 'bob', tier: 'gold' }, { singletonKey: 'bob' });
  await send('ann2', { customer: 'ann', tier: 'silver' }, { singletonKey: 'ann' });
  await send('ann3', { customer: 'ann', nested: { city: 'Oslo' } }, { singletonKey: 'ann' });
  const [active] = await f.boss.fetch(f.qualified(queue));
  expect(active?.id).toBe(ids.ann1);
});

/** The ids pg-boss's table holds for a containment filter, newest first. */
async function containing(data: unknown): Promise<string[]> {
  const { rows } = await f.tables.sql.query<{ id: string }>(
    'SELECT id FROM pgboss.job WHERE name = $1 AND data @> $2::jsonb ORDER BY created_on DESC, id DESC',
    [f.qualified(queue), JSON.stringify(data)],
  );
  return rows.map((row) => row.id);
}

const found = async (variables: Record<string, unknown>) => (await f.api.data(FIND, { queue, ...variables })).findJobs;

describe('findJobs', () => {
  it('filters by data containment, singleton key and state, like the job table says', async () => {
    for (const data of [{ customer: 'ann' }, { tier: 'gold' }, { items: [2] }, { nested: { city: 'Oslo' } }, { customer: 'nobody' }]) {
      expect({ data, ids: (await found({ data })).nodes.map((n: { id: string }) => n.id) }).toEqual({ data, ids: await containing(data) });
    }
    expect((await found({ singletonKey: 'ann' })).nodes.map((n: { id: string }) => n.id)).toEqual([ids.ann3, ids.ann2]);
    expect((await found({ data: { customer: 'ann' }, states: ['ACTIVE'] })).nodes).toEqual([
      { id: ids.ann1, state: 'ACTIVE', data: { customer: 'ann', tier: 'gold', items: [1, 2] }, singletonKey: null },
    ]);
    expect((await found({ singletonKey: 'ann', data: { tier: 'silver' } })).nodes.map((n: { id: string }) => n.id)).toEqual([ids.ann2]);
    expect((await found({ states: ['COMPLETED'] })).nodes).toEqual([]);
  });

  it('pages newest first with the cursors of jobs', async () => {
    const first = await found({ data: { customer: 'ann' }, first: 2 });
    expect(first.nodes.map((n: { id: string }) => n.id)).toEqual([ids.ann3, ids.ann2]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = await found({ data: { customer: 'ann' }, first: 2, after: first.pageInfo.endCursor });
    expect(next).toEqual({ nodes: [expect.objectContaining({ id: ids.ann1 })], pageInfo: { endCursor: expect.any(String), hasNextPage: false } });
  });

  it('is an empty page for a queue that does not exist; bad filters are BAD_USER_INPUT', async () => {
    expect((await f.api.data(FIND, { queue: f.queueName('none') })).findJobs).toEqual({ nodes: [], pageInfo: { endCursor: null, hasNextPage: false } });
    for (const variables of [
      { data: 'ann' },
      { data: 3 },
      { singletonKey: '' },
      { singletonKey: 'a\u0000' },
      { first: 0 },
      { after: 'nope' },
      { queue: '../x' },
    ]) {
      expect({ variables, code: await f.api.errorCode(FIND, { queue, ...variables }) }).toEqual({ variables, code: 'BAD_USER_INPUT' });
    }
    const small = 'query($queue: String!, $first: Int) { findJobs(queue: $queue, first: $first) { pageInfo { hasNextPage } } }';
    expect(await f.api.errorCode(small, { queue, first: 501 })).toBe('BAD_USER_INPUT');
    expect((await f.api.data(small, { queue, first: 500 })).findJobs.pageInfo.hasNextPage).toBe(false);
  });
});

describe('blockedKeys', () => {
  it('lists the keys of a KEY_STRICT_FIFO queue whose head failed, as pg-boss does', async () => {
    const fifo = f.queueName('fifo');
    await f.api.data('mutation($name: String!) { createQueue(name: $name, options: { policy: KEY_STRICT_FIFO, retryLimit: 0 }) { name } }', { name: fifo });
    for (const key of ['acct-1', 'acct-1', 'acct-2', 'acct-3']) await f.api.sendJob(fifo, { key }, { singletonKey: key });
    const heads = await f.boss.fetch(f.qualified(fifo), { batchSize: 3 });
    const failed = heads.filter((job) => ['acct-1', 'acct-3'].includes((job.data as { key: string }).key));
    expect(failed).toHaveLength(2);
    await f.boss.fail(
      f.qualified(fifo),
      failed.map((job) => job.id),
    );
    expect((await f.api.data(BLOCKED, { queue: fifo })).blockedKeys).toEqual(['acct-1', 'acct-3']);
    expect(await f.boss.getBlockedKeys(f.qualified(fifo))).toEqual(['acct-1', 'acct-3']);
    expect((await f.api.data(BLOCKED, { queue: fifo, first: 1 })).blockedKeys).toEqual(['acct-1']);
    expect((await f.api.data(BLOCKED, { queue: fifo, after: 'acct-1' })).blockedKeys).toEqual(['acct-3']);
    expect((await f.api.data(BLOCKED, { queue })).blockedKeys).toEqual([]);
    expect(await f.api.errorCode(BLOCKED, { queue: f.queueName('none') })).toBe('NOT_FOUND');
    for (const variables of [{ first: 0 }, { first: 1001 }, { after: '' }, { queue: '_x' }]) {
      expect({ variables, code: await f.api.errorCode(BLOCKED, { queue: fifo, ...variables }) }).toEqual({ variables, code: 'BAD_USER_INPUT' });
    }
  });
});
