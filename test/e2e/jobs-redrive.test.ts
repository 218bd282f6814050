/**
 * previewRedrive and redriveJobs: pg-boss's dead-letter redrive through the
 * gateway, checked on pgboss.job.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { eventStreams } from '../support/events.ts';
import { createTestTenant, issueExtraToken } from '../support/gateway.ts';
import { apiFor, useJobsFixture } from '../support/jobs.ts';
import { CREATE_QUEUE } from '../support/operations.ts';

const PREVIEW = `query($queue: String!, $options: RedriveOptionsInput) {
  previewRedrive(queue: $queue, options: $options) { total unroutable destinations { queue count } } }`;
const REDRIVE = 'mutation($queue: String!, $options: RedriveOptionsInput) { redriveJobs(queue: $queue, options: $options) }';

const f = useJobsFixture();

/** Fails jobs terminally as a plain pg-boss worker would: their copies land in the dead letter queue. */
async function failAll(qualified: string, count: number): Promise<void> {
  const jobs = await f.boss.fetch(qualified, { batchSize: count });
  expect(jobs).toHaveLength(count);
  await f.boss.fail(
    qualified,
    jobs.map((job) => job.id),
    { reason: 'boom' },
  );
}

/** A queue with a dead letter queue holding one dead-lettered copy per `data`. */
async function deadLettered(data: Record<string, unknown>[]): Promise<{ queue: string; dead: string; sent: string[]; copies: string[] }> {
  const queue = f.queueName('orders');
  const dead = `${queue}/dead`;
  await f.api.data(CREATE_QUEUE, { name: dead });
  await f.api.data(CREATE_QUEUE, { name: queue, options: { deadLetter: dead, retryLimit: 0 } });
  const sent: string[] = [];
  for (const item of data) sent.push(await f.api.sendJob(queue, item));
  await failAll(f.qualified(queue), data.length);
  const copies = await f.tables.jobsIn(f.qualified(dead));
  expect(copies.map((row) => [row.state, row.source_name])).toEqual(data.map(() => ['created', f.qualified(queue)]));
  // In the order of `data` (the copies of one fail share their creation time).
  const order = (row: { data: unknown }) => data.findIndex((item) => JSON.stringify(item) === JSON.stringify(row.data));
  return { queue, dead, sent, copies: copies.sort((x, y) => order(x) - order(y)).map((row) => row.id) };
}

describe('previewRedrive', () => {
  it('says where the dead-lettered jobs would go and changes nothing', async () => {
    const { queue, dead, copies } = await deadLettered([
      { n: 1, kind: 'a' },
      { n: 2, kind: 'b' },
      { n: 3, kind: 'a' },
    ]);
    const other = f.queueName('elsewhere');
    await f.api.data(CREATE_QUEUE, { name: other });
    const before = await f.tables.jobsIn(f.qualified(dead));
    expect((await f.api.data(PREVIEW, { queue: dead })).previewRedrive).toEqual({ total: 3, unroutable: 0, destinations: [{ queue, count: 3 }] });
    expect((await f.api.data(PREVIEW, { queue: dead, options: { data: { kind: 'a' } } })).previewRedrive).toEqual({
      total: 2,
      unroutable: 0,
      destinations: [{ queue, count: 2 }],
    });
    expect((await f.api.data(PREVIEW, { queue: dead, options: { ids: [copies[1], randomUUID(), 'not-a-uuid'] } })).previewRedrive.total).toBe(1);
    expect((await f.api.data(PREVIEW, { queue: dead, options: { destination: other } })).previewRedrive.destinations).toEqual([{ queue: other, count: 3 }]);
    expect((await f.api.data(PREVIEW, { queue: dead, options: { destination: f.queueName('missing') } })).previewRedrive).toEqual({
      total: 3,
      unroutable: 3,
      destinations: [],
    });
    expect((await f.api.data(PREVIEW, { queue: dead, options: { sourceQueue: other } })).previewRedrive.total).toBe(0);
    expect((await f.api.data(PREVIEW, { queue: dead, options: { createdBefore: '2000-01-01T00:00:00Z' } })).previewRedrive.total).toBe(0);
    expect((await f.api.data(PREVIEW, { queue: dead, options: { limit: 2 } })).previewRedrive.total).toBe(2);
    expect((await f.api.data(PREVIEW, { queue: dead, options: { ids: ['nope'] } })).previewRedrive).toEqual({ total: 0, unroutable: 0, destinations: [] });
    expect(await f.tables.jobsIn(f.qualified(dead))).toEqual(before);
  });
});

describe('redriveJobs', () => {
  it('moves the chosen jobs back to their queue as new jobs, reported by jobEvents', async () => {
    const { queue, dead, sent, copies } = await deadLettered([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const streams = eventStreams(f.gateway, f.tenant.token);
    const sub = await streams.subscribe({});
    expect((await f.api.data(REDRIVE, { queue: dead, options: { ids: [copies[0]] } })).redriveJobs).toBe(1);
    expect((await f.tables.jobsIn(f.qualified(dead))).map((row) => row.id).sort()).toEqual(copies.slice(1).sort());
    const { rows } = await f.tables.sql.query<{ id: string; state: string; data: unknown; source_root_id: string; retry_count: number }>(
      "SELECT id, state, data, source_root_id, retry_count FROM pgboss.job WHERE name = $1 AND state = 'created'",
      [f.qualified(queue)],
    );
    expect(rows).toEqual([{ id: expect.any(String), state: 'created', data: { n: 1 }, source_root_id: sent[0], retry_count: 0 }]);
    await sub.waitFor((d) => d.jobEvents.jobId === copies[0] && d.jobEvents.type === 'DELETED' && d.jobEvents.queue === dead);
    await sub.waitFor((d) => d.jobEvents.jobId === rows[0]!.id && d.jobEvents.type === 'CREATED' && d.jobEvents.queue === queue);
    await streams.close();

    expect((await f.api.data(REDRIVE, { queue: dead })).redriveJobs).toBe(2);
    expect(await f.tables.jobsIn(f.qualified(dead))).toEqual([]);
    expect((await f.tables.jobsIn(f.qualified(queue))).filter((row) => row.state === 'created').map((row) => row.data)).toEqual(
      expect.arrayContaining([{ n: 1 }, { n: 2 }, { n: 3 }]),
    );
    expect((await f.api.data(REDRIVE, { queue: dead })).redriveJobs).toBe(0);
  });

  it('takes a destination and a limit', async () => {
    const { dead } = await deadLettered([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const target = f.queueName('target');
    await f.api.data(CREATE_QUEUE, { name: target });
    expect((await f.api.data(REDRIVE, { queue: dead, options: { destination: target, limit: 2 } })).redriveJobs).toBe(2);
    expect(await f.tables.jobsIn(f.qualified(target))).toHaveLength(2);
    expect(await f.tables.jobsIn(f.qualified(dead))).toHaveLength(1);
  });

  it('takes createdBefore, data and sourceQueue, moving what previewRedrive counted with them', async () => {
    const { queue, dead } = await deadLettered([
      { n: 1, kind: 'a' },
      { n: 2, kind: 'b' },
      { n: 3, kind: 'a' },
    ]);
    const redrive = async (options: Record<string, unknown>) => {
      const counted = (await f.api.data(PREVIEW, { queue: dead, options })).previewRedrive.total as number;
      const moved = (await f.api.data(REDRIVE, { queue: dead, options })).redriveJobs as number;
      expect({ options, moved }).toEqual({ options, moved: counted });
      return moved;
    };
    const waiting = async () => (await f.tables.jobsIn(f.qualified(dead))).map((row) => row.data);
    expect(await redrive({ createdBefore: '2000-01-01T00:00:00Z' })).toBe(0);
    expect(await redrive({ sourceQueue: f.queueName('other') })).toBe(0);
    expect(await waiting()).toHaveLength(3);
    expect(await redrive({ data: { kind: 'a' }, sourceQueue: queue })).toBe(2);
    expect(await waiting()).toEqual([{ n: 2, kind: 'b' }]);
    expect(await redrive({ createdBefore: new Date(Date.now() + 60_000).toISOString() })).toBe(1);
    expect(await waiting()).toEqual([]);
    const back = (await f.tables.jobsIn(f.qualified(queue))).filter((row) => row.state === 'created').map((row) => row.data);
    expect(back).toEqual(
      expect.arrayContaining([
        { n: 1, kind: 'a' },
        { n: 2, kind: 'b' },
        { n: 3, kind: 'a' },
      ]),
    );
    expect(back).toHaveLength(3);
  });

  it('never sends a job to a queue outside the tenant, even one that dead-lettered into it past the gateway', async () => {
    const { queue, dead } = await deadLettered([{ mine: true }]);
    const other = await createTestTenant(f.gateway);
    const foreign = `${other.tenant.id}/${f.queueName('foreign')}`;
    await f.boss.createQueue(foreign, { deadLetter: f.qualified(dead), retryLimit: 0 });
    await f.boss.send(foreign, { foreign: true });
    await failAll(foreign, 1);
    expect(await f.tables.jobsIn(f.qualified(dead))).toHaveLength(2);

    expect((await f.api.data(PREVIEW, { queue: dead })).previewRedrive).toEqual({ total: 2, unroutable: 1, destinations: [{ queue, count: 1 }] });
    expect((await f.api.data(REDRIVE, { queue: dead })).redriveJobs).toBe(1);
    expect((await f.tables.jobsIn(f.qualified(dead))).map((row) => [row.data, row.source_name])).toEqual([[{ foreign: true }, foreign]]);
    expect((await f.tables.jobsIn(foreign)).filter((row) => row.state === 'created')).toEqual([]);
  });

  it('refuses bad options with BAD_USER_INPUT, a queue that does not exist with NOT_FOUND; preview needs READ, redrive PUBLISH', async () => {
    const { dead } = await deadLettered([{ n: 1 }]);
    for (const options of [{ limit: 0 }, { limit: 10_001 }, { ids: [] }, { data: [1] }, { data: 'x' }, { destination: '../x' }, { sourceQueue: '_x' }]) {
      expect({ options, code: await f.api.errorCode(REDRIVE, { queue: dead, options }) }).toEqual({ options, code: 'BAD_USER_INPUT' });
      expect({ options, code: await f.api.errorCode(PREVIEW, { queue: dead, options }) }).toEqual({ options, code: 'BAD_USER_INPUT' });
    }
    expect(await f.api.errorCode(REDRIVE, { queue: f.queueName('none') })).toBe('NOT_FOUND');
    expect(await f.api.errorCode(PREVIEW, { queue: f.queueName('none') })).toBe('NOT_FOUND');
    const reader = apiFor(f.gateway, (await issueExtraToken(f.gateway, f.tenant.tenant.id, ['READ'])).token);
    expect((await reader.data(PREVIEW, { queue: dead })).previewRedrive.total).toBe(1);
    expect(await reader.errorCode(REDRIVE, { queue: dead })).toBe('FORBIDDEN');
    expect(await f.tables.jobsIn(f.qualified(dead))).toHaveLength(1);
  });
});
