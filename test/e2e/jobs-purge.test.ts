/**
 * deleteQueuedJobs, deleteStoredJobs, deleteAllJobs: pg-boss's bulk deletes
 * through the gateway, checked on pgboss.job.
 */
import { describe, expect, it } from '@jest/globals';
import { eventStreams } from '../support/events.ts';
import { issueExtraToken } from '../support/gateway.ts';
import { apiFor, useJobsFixture } from '../support/jobs.ts';
import { COMPLETE_JOB, CREATE_QUEUE, FAIL_JOB } from '../support/operations.ts';

const PURGE = {
  queued: 'mutation($queue: String!) { deleteQueuedJobs(queue: $queue) }',
  stored: 'mutation($queue: String!) { deleteStoredJobs(queue: $queue) }',
  all: 'mutation($queue: String!) { deleteAllJobs(queue: $queue) }',
};

const f = useJobsFixture();

/** A queue holding jobs in every state; the ids by state. */
async function queueInEveryState(options: Record<string, unknown> = {}): Promise<{ queue: string; ids: Record<string, string[]> }> {
  const queue = f.queueName('purge');
  await f.api.data(CREATE_QUEUE, { name: queue, options: { retryLimit: 0, ...options } });
  const send = (label: string, extra: Record<string, unknown> = {}) => f.api.sendJob(queue, { label }, extra);
  const take = async () => (await f.boss.fetch(f.qualified(queue)))[0]!.id;
  const ids: Record<string, string[]> = { created: [], retry: [], active: [], completed: [], cancelled: [], failed: [] };
  ids.completed!.push(await send('completed'));
  await f.api.data(COMPLETE_JOB, { queue, id: await take() });
  ids.failed!.push(await send('failed'));
  await f.api.data(FAIL_JOB, { queue, id: await take() });
  ids.retry!.push(await send('retry', { retryLimit: 2, retryDelay: 3600 }));
  await f.api.data(FAIL_JOB, { queue, id: await take() });
  ids.active!.push(await send('active'));
  expect(await take()).toBe(ids.active![0]);
  ids.cancelled!.push(await send('cancelled'));
  await f.api.data('mutation($queue: String!, $id: ID!) { cancelJob(queue: $queue, id: $id) { id } }', { queue, id: ids.cancelled![0] });
  ids.created!.push(await send('created'), await send('deferred', { delaySeconds: 3600 }));
  const rows = await f.tables.jobsIn(f.qualified(queue));
  for (const [state, list] of Object.entries(ids))
    expect(
      rows
        .filter((row) => row.state === state)
        .map((row) => row.id)
        .sort(),
    ).toEqual([...list].sort());
  return { queue, ids };
}

const states = async (queue: string) => (await f.tables.jobsIn(f.qualified(queue))).map((row) => row.state).sort();

describe('purges', () => {
  it('deleteQueuedJobs, deleteStoredJobs, deleteAllJobs delete what they say and count it; other queues keep theirs', async () => {
    const { queue } = await queueInEveryState();
    const bystander = await queueInEveryState();
    const before = await f.tables.jobsIn(f.qualified(bystander.queue));
    expect((await f.api.data(PURGE.queued, { queue })).deleteQueuedJobs).toBe(3);
    expect(await states(queue)).toEqual(['active', 'cancelled', 'completed', 'failed']);
    expect((await f.api.data(PURGE.stored, { queue })).deleteStoredJobs).toBe(3);
    expect(await states(queue)).toEqual(['active']);
    expect((await f.api.data(PURGE.all, { queue })).deleteAllJobs).toBe(1);
    expect(await states(queue)).toEqual([]);
    expect(await f.tables.queue(f.qualified(queue))).toBeDefined();
    expect((await f.api.data(PURGE.all, { queue })).deleteAllJobs).toBe(0);
    expect(await f.tables.jobsIn(f.qualified(bystander.queue))).toEqual(before);
  });

  it('deleteAllJobs on a partitioned queue deletes every job and jobEvents reports each as DELETED', async () => {
    const { queue, ids } = await queueInEveryState({ partition: true });
    const streams = eventStreams(f.gateway, f.tenant.token);
    const sub = await streams.subscribe({ queue, types: ['DELETED'] });
    expect((await f.api.data(PURGE.all, { queue })).deleteAllJobs).toBe(7);
    expect(await states(queue)).toEqual([]);
    for (const id of Object.values(ids).flat()) await sub.waitFor((d) => d.jobEvents.jobId === id);
    await streams.close();
  });

  it('deleteQueuedJobs reports each deleted job to jobEvents', async () => {
    const { queue, ids } = await queueInEveryState();
    const streams = eventStreams(f.gateway, f.tenant.token);
    const sub = await streams.subscribe({ queue });
    await f.api.data(PURGE.queued, { queue });
    for (const id of [...ids.created!, ...ids.retry!]) await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'DELETED');
    await streams.close();
  });

  it('deleteStoredJobs, then deleteAllJobs on a plain queue, report each deleted job to jobEvents', async () => {
    const { queue, ids } = await queueInEveryState();
    const streams = eventStreams(f.gateway, f.tenant.token);
    const sub = await streams.subscribe({ queue, types: ['DELETED'] });
    expect((await f.api.data(PURGE.stored, { queue })).deleteStoredJobs).toBe(3);
    for (const id of [...ids.completed!, ...ids.cancelled!, ...ids.failed!]) await sub.waitFor((d) => d.jobEvents.jobId === id);
    expect((await f.api.data(PURGE.all, { queue })).deleteAllJobs).toBe(4);
    for (const id of [...ids.created!, ...ids.retry!, ...ids.active!]) await sub.waitFor((d) => d.jobEvents.jobId === id);
    expect(sub.results.map((r) => r.data?.jobEvents.jobId).sort()).toEqual(Object.values(ids).flat().sort());
    await streams.close();
  });

  it('a queue that does not exist is NOT_FOUND, a bad name BAD_USER_INPUT; a READ token may not purge', async () => {
    const reader = apiFor(f.gateway, (await issueExtraToken(f.gateway, f.tenant.tenant.id, ['READ'])).token);
    const { queue } = await queueInEveryState();
    for (const [kind, doc] of Object.entries(PURGE)) {
      expect({ kind, code: await f.api.errorCode(doc, { queue: f.queueName('none') }) }).toEqual({ kind, code: 'NOT_FOUND' });
      expect({ kind, code: await f.api.errorCode(doc, { queue: '../x' }) }).toEqual({ kind, code: 'BAD_USER_INPUT' });
      expect({ kind, code: await reader.errorCode(doc, { queue }) }).toEqual({ kind, code: 'FORBIDDEN' });
    }
    expect(await f.tables.jobsIn(f.qualified(queue))).toHaveLength(7);
  });
});
