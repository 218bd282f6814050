/**
 * subscribeQueue, unsubscribeQueue, publish, topics: pg-boss publish/subscribe
 * through the gateway, checked on pgboss.subscription and pgboss.job.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { eventStreams } from '../support/events.ts';
import { createTestTenant } from '../support/gateway.ts';
import { apiFor, useJobsFixture, type Api } from '../support/jobs.ts';
import { CREATE_QUEUE } from '../support/operations.ts';

const SUBSCRIBE = 'mutation($topic: String!, $queue: String!) { subscribeQueue(topic: $topic, queue: $queue) { name queues } }';
const UNSUBSCRIBE = 'mutation($topic: String!, $queue: String!) { unsubscribeQueue(topic: $topic, queue: $queue) { name queues } }';
const PUBLISH =
  'mutation($topic: String!, $data: JSON, $options: JobOptionsInput) { publish(topic: $topic, data: $data, options: $options) { id queue state data priority } }';
const TOPICS = '{ topics { name queues } }';

const f = useJobsFixture();
let b: Api;
let bTenant: string;

beforeAll(async () => {
  const other = await createTestTenant(f.gateway);
  b = apiFor(f.gateway, other.token);
  bTenant = other.tenant.id;
});

async function subscriptionRows(prefix: string): Promise<{ event: string; name: string }[]> {
  const { rows } = await f.tables.sql.query<{ event: string; name: string }>(
    'SELECT event, name FROM pgboss.subscription WHERE starts_with(event, $1) OR starts_with(name, $1) ORDER BY event, name',
    [prefix],
  );
  return rows;
}

describe('topics', () => {
  it('subscribes queues under qualified topic names, once each, and lists them', async () => {
    const [billing, shipping] = [f.queueName('billing'), f.queueName('shipping')];
    await f.api.data(CREATE_QUEUE, { name: billing });
    await f.api.data(CREATE_QUEUE, { name: shipping });
    expect((await f.api.data(SUBSCRIBE, { topic: 'orders/created', queue: billing })).subscribeQueue).toEqual({ name: 'orders/created', queues: [billing] });
    expect((await f.api.data(SUBSCRIBE, { topic: 'orders/created', queue: shipping })).subscribeQueue.queues).toEqual([billing, shipping].sort());
    await f.api.data(SUBSCRIBE, { topic: 'orders/created', queue: shipping });
    await f.api.data(SUBSCRIBE, { topic: 'refunds', queue: billing });
    const prefix = `${f.tenant.tenant.id}/`;
    expect(await subscriptionRows(prefix)).toEqual(
      [
        { event: `${prefix}orders/created`, name: f.qualified(billing) },
        { event: `${prefix}orders/created`, name: f.qualified(shipping) },
        { event: `${prefix}refunds`, name: f.qualified(billing) },
      ].sort((x, y) => x.event.localeCompare(y.event) || x.name.localeCompare(y.name)),
    );
    expect((await f.api.data(TOPICS)).topics).toEqual([
      { name: 'orders/created', queues: [billing, shipping].sort() },
      { name: 'refunds', queues: [billing] },
    ]);
  });

  it('publish sends one job into each subscribed queue, reported by jobEvents', async () => {
    const [one, two] = [f.queueName('one'), f.queueName('two')];
    for (const queue of [one, two]) {
      await f.api.data(CREATE_QUEUE, { name: queue });
      await f.api.data(SUBSCRIBE, { topic: 'invoices', queue });
    }
    const streams = eventStreams(f.gateway, f.tenant.token);
    const sub = await streams.subscribe({ types: ['CREATED'] });
    const { publish } = await f.api.data(PUBLISH, { topic: 'invoices', data: { total: 12 }, options: { priority: 3 } });
    expect(publish.map((job: { queue: string }) => job.queue).sort()).toEqual([one, two].sort());
    for (const job of publish) {
      expect(job).toMatchObject({ state: 'CREATED', data: { total: 12 }, priority: 3 });
      expect(await f.tables.job(job.id)).toMatchObject({ name: f.qualified(job.queue), state: 'created', data: { total: 12 }, priority: 3 });
      await sub.waitFor((d) => d.jobEvents.jobId === job.id && d.jobEvents.queue === job.queue);
    }
    await streams.close();
    expect((await f.api.data(PUBLISH, { topic: 'nobody-listens', data: {} })).publish).toEqual([]);
  });

  it('a singleton rule of one queue leaves its job out, the others still get theirs', async () => {
    const [short, plain] = [f.queueName('short'), f.queueName('plain')];
    await f.api.data(CREATE_QUEUE, { name: short, options: { policy: 'SHORT' } });
    await f.api.data(CREATE_QUEUE, { name: plain });
    for (const queue of [short, plain]) await f.api.data(SUBSCRIBE, { topic: 'ticks', queue });
    const first = (await f.api.data(PUBLISH, { topic: 'ticks', data: { n: 1 }, options: { singletonKey: 'k' } })).publish;
    const second = (await f.api.data(PUBLISH, { topic: 'ticks', data: { n: 2 }, options: { singletonKey: 'k' } })).publish;
    expect(first.map((j: { queue: string }) => j.queue).sort()).toEqual([plain, short].sort());
    expect(second.map((j: { queue: string }) => j.queue)).toEqual([plain]);
    expect(await f.tables.jobsIn(f.qualified(short))).toHaveLength(1);
    expect(await f.tables.jobsIn(f.qualified(plain))).toHaveLength(2);
  });

  it('unsubscribeQueue removes the row; a queue that is not subscribed, or does not exist, is NOT_FOUND; bad names are BAD_USER_INPUT', async () => {
    const queue = f.queueName('leaving');
    await f.api.data(CREATE_QUEUE, { name: queue });
    await f.api.data(SUBSCRIBE, { topic: 'news', queue });
    expect((await f.api.data(UNSUBSCRIBE, { topic: 'news', queue })).unsubscribeQueue).toEqual({ name: 'news', queues: [] });
    expect((await f.tables.sql.query('SELECT 1 FROM pgboss.subscription WHERE name = $1', [f.qualified(queue)])).rowCount).toBe(0);
    expect(await f.api.errorCode(UNSUBSCRIBE, { topic: 'news', queue })).toBe('NOT_FOUND');
    expect(await f.api.errorCode(SUBSCRIBE, { topic: 'news', queue: f.queueName('missing') })).toBe('NOT_FOUND');
    for (const topic of ['', '../x', '_x', 'a b', 'x'.repeat(101)]) {
      expect(await f.api.errorCode(SUBSCRIBE, { topic, queue })).toBe('BAD_USER_INPUT');
      expect(await f.api.errorCode(PUBLISH, { topic, data: {} })).toBe('BAD_USER_INPUT');
    }
    expect(await f.api.errorCode(PUBLISH, { topic: 'news', data: 'not an object' })).toBe('BAD_USER_INPUT');
    // Deleting a queue ends its subscriptions (pg-boss's foreign key).
    await f.api.data(SUBSCRIBE, { topic: 'news', queue });
    await f.api.data('mutation($name: String!) { deleteQueue(name: $name) }', { name: queue });
    expect((await f.api.data(TOPICS)).topics.find((t: { name: string }) => t.name === 'news')).toBeUndefined();
  });

  it("two tenants' topics of the same name are separate: publish never reaches the other's queues", async () => {
    const mine = f.queueName('mine');
    await f.api.data(CREATE_QUEUE, { name: mine });
    await f.api.data(SUBSCRIBE, { topic: 'shared-name', queue: mine });
    await b.data(CREATE_QUEUE, { name: mine });
    await b.data(SUBSCRIBE, { topic: 'shared-name', queue: mine });
    // A subscription written past the gateway, of another tenant's queue to A's qualified topic.
    await f.boss.subscribe(`${f.tenant.tenant.id}/shared-name`, `${bTenant}/${mine}`);

    const fromA = (await f.api.data(PUBLISH, { topic: 'shared-name', data: { by: 'A' } })).publish;
    expect(fromA.map((j: { queue: string }) => j.queue)).toEqual([mine]);
    const fromB = (await b.data(PUBLISH, { topic: 'shared-name', data: { by: 'B' } })).publish;
    expect(fromB.map((j: { queue: string }) => j.queue)).toEqual([mine]);
    expect((await f.tables.jobsIn(f.qualified(mine))).map((row) => row.data)).toEqual([{ by: 'A' }]);
    expect((await f.tables.jobsIn(`${bTenant}/${mine}`)).map((row) => row.data)).toEqual([{ by: 'B' }]);
    expect((await f.api.data(TOPICS)).topics.find((t: { name: string }) => t.name === 'shared-name')).toEqual({ name: 'shared-name', queues: [mine] });
    expect((await b.data(TOPICS)).topics).toEqual([{ name: 'shared-name', queues: [mine] }]);
  });
});
