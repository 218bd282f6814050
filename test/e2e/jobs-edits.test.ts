/**
 * updateJob and upsertJob: pg-boss's update and upsert through the gateway,
 * checked on pgboss.job.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { eventStreams, eventsOf } from '../support/events.ts';
import { issueExtraToken } from '../support/gateway.ts';
import { apiFor, useJobsFixture } from '../support/jobs.ts';
import { COMPLETE_JOB } from '../support/operations.ts';

const UPDATE = `mutation($queue: String!, $id: ID!, $data: JSON, $options: JobEditInput) {
  updateJob(queue: $queue, id: $id, data: $data, options: $options) { id state data priority retryLimit deadLetter groupId startAfter } }`;
const UPSERT = `mutation($queue: String!, $key: String!, $data: JSON, $options: JobEditInput) {
  upsertJob(queue: $queue, key: $key, data: $data, options: $options) { inserted job { id state data priority singletonKey } } }`;

const f = useJobsFixture();

const send = (queue: string, data: Record<string, unknown> = {}, options: Record<string, unknown> = {}) => f.api.sendJob(queue, data, options);

describe('updateJob', () => {
  it("edits a waiting job's data and options in pgboss.job, and jobEvents reports UPDATED", async () => {
    const queue = f.queueName('edit');
    const streams = eventStreams(f.gateway, f.tenant.token);
    const sub = await streams.subscribe({ queue });
    const id = await send(queue, { v: 1 }, { delaySeconds: 3600 });
    const { updateJob } = await f.api.data(UPDATE, {
      queue,
      id,
      data: { v: 2 },
      options: { priority: 7, retryLimit: 5, deadLetter: `${queue}/dead`, groupId: 'g1', delaySeconds: 0 },
    });
    expect(updateJob).toMatchObject({ id, state: 'CREATED', data: { v: 2 }, priority: 7, retryLimit: 5, deadLetter: `${queue}/dead`, groupId: 'g1' });
    const row = await f.tables.job(id);
    expect(row).toMatchObject({ data: { v: 2 }, priority: 7, retry_limit: 5, dead_letter: f.qualified(`${queue}/dead`), group_id: 'g1' });
    expect(row!.start_after.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await f.tables.queue(f.qualified(`${queue}/dead`))).toBeDefined();
    await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'UPDATED');

    // Options alone keep the data.
    await f.api.data(UPDATE, { queue, id, options: { priority: 1 } });
    expect(await f.tables.job(id)).toMatchObject({ data: { v: 2 }, priority: 1 });
    await sub.waitFor(() => eventsOf(sub, id).filter((e) => e.startsWith('UPDATED')).length === 2);
    expect(eventsOf(sub, id)).toEqual(['CREATED:CREATED', 'UPDATED:CREATED', 'UPDATED:CREATED']);
    await streams.close();
  });

  it('is CONFLICT once the job is active or finished, NOT_FOUND for no such job or queue, BAD_USER_INPUT for bad options', async () => {
    const queue = f.queueName('edit');
    const active = await send(queue);
    const [fetched] = await f.boss.fetch(f.qualified(queue));
    expect(fetched?.id).toBe(active);
    const before = await f.tables.job(active);
    expect(await f.api.errorCode(UPDATE, { queue, id: active, data: { v: 9 } })).toBe('CONFLICT');
    await f.api.data(COMPLETE_JOB, { queue, id: active });
    expect(await f.api.errorCode(UPDATE, { queue, id: active, options: { priority: 3 } })).toBe('CONFLICT');
    expect((await f.tables.job(active))!.data).toEqual(before!.data);

    expect(await f.api.errorCode(UPDATE, { queue, id: randomUUID(), data: {} })).toBe('NOT_FOUND');
    expect(await f.api.errorCode(UPDATE, { queue, id: 'not-a-uuid', data: {} })).toBe('NOT_FOUND');
    expect(await f.api.errorCode(UPDATE, { queue: f.queueName('none'), id: randomUUID(), data: {} })).toBe('NOT_FOUND');
    const waiting = await send(queue, { v: 1 });
    for (const [data, options] of [
      ['text', {}],
      [{}, { retryLimit: -1 }],
      [{}, { heartbeatSeconds: 5 }],
      [{}, { groupTier: 't' }],
      [{}, { deadLetter: '../x' }],
      [{}, { delaySeconds: 1, startAfter: '2030-01-01T00:00:00Z' }],
    ] as const) {
      expect({ data, options, code: await f.api.errorCode(UPDATE, { queue, id: waiting, data, options }) }).toEqual({ data, options, code: 'BAD_USER_INPUT' });
    }
    expect((await f.tables.job(waiting))!.data).toEqual({ v: 1 });
    const reader = apiFor(f.gateway, (await issueExtraToken(f.gateway, f.tenant.tenant.id, ['READ'])).token);
    expect(await reader.errorCode(UPDATE, { queue, id: waiting, data: {} })).toBe('FORBIDDEN');
  });
});

describe('upsertJob', () => {
  it('sends a job with the key when none waits (the queue too), then edits that one', async () => {
    const queue = f.queueName('upsert');
    const streams = eventStreams(f.gateway, f.tenant.token);
    const sub = await streams.subscribe({ queue });
    const first = (await f.api.data(UPSERT, { queue, key: 'acct-7', data: { total: 1 }, options: { priority: 2 } })).upsertJob;
    expect(first).toMatchObject({ inserted: true, job: { state: 'CREATED', data: { total: 1 }, priority: 2, singletonKey: 'acct-7' } });
    const second = (await f.api.data(UPSERT, { queue, key: 'acct-7', data: { total: 2 } })).upsertJob;
    expect(second).toMatchObject({ inserted: false, job: { id: first.job.id, data: { total: 2 }, priority: 2 } });
    const rows = await f.tables.jobsIn(f.qualified(queue));
    expect(rows.map((row) => [row.id, row.singleton_key, row.data])).toEqual([[first.job.id, 'acct-7', { total: 2 }]]);
    await sub.waitFor((d) => d.jobEvents.jobId === first.job.id && d.jobEvents.type === 'UPDATED');
    expect(eventsOf(sub, first.job.id)).toEqual(['CREATED:CREATED', 'UPDATED:CREATED']);

    // Once that job is active, the key has no waiting job: the next upsert sends another.
    await f.boss.fetch(f.qualified(queue));
    const third = (await f.api.data(UPSERT, { queue, key: 'acct-7', data: { total: 3 } })).upsertJob;
    expect(third).toMatchObject({ inserted: true, job: { data: { total: 3 }, singletonKey: 'acct-7' } });
    expect(third.job.id).not.toBe(first.job.id);
    expect((await f.tables.jobsIn(f.qualified(queue))).map((row) => row.state).sort()).toEqual(['active', 'created']);
    await streams.close();
  });

  it('refuses bad keys and options with BAD_USER_INPUT, writing nothing', async () => {
    const queue = f.queueName('upsert');
    for (const key of ['', 'k'.repeat(256), 'a\u0000b']) expect(await f.api.errorCode(UPSERT, { queue, key, data: {} })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(UPSERT, { queue, key: 'k', data: 'text' })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(UPSERT, { queue, key: 'k', data: {}, options: { retryDelay: -2 } })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(UPSERT, { queue: '../x', key: 'k', data: {} })).toBe('BAD_USER_INPUT');
    expect(await f.tables.queue(f.qualified(queue))).toBeUndefined();
  });
});
