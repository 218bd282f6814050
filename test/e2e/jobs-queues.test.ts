import { describe, expect, it } from '@jest/globals';
import { httpGraphql } from '../support/clients.ts';
import { QUEUE_FIELDS, useJobsFixture } from '../support/jobs.ts';

const CREATE_QUEUE = `mutation ($name: String!, $options: QueueOptionsInput) { createQueue(name: $name, options: $options) { ${QUEUE_FIELDS} } }`;
const UPDATE_QUEUE = `mutation ($name: String!, $options: QueueOptionsInput!) { updateQueue(name: $name, options: $options) { ${QUEUE_FIELDS} } }`;
const DELETE_QUEUE = 'mutation ($name: String!) { deleteQueue(name: $name) }';
const QUEUE = `query ($name: String!) { queue(name: $name) { ${QUEUE_FIELDS} } }`;
const QUEUES = `{ queues { ${QUEUE_FIELDS} } }`;

const f = useJobsFixture();

describe('createQueue', () => {
  it('stores every option in pg-boss under the tenant prefix, dead letter included', async () => {
    const name = f.queueName('billing');
    const deadLetter = f.queueName('billing-dlq');
    const { createQueue } = await f.api.data(CREATE_QUEUE, {
      name,
      options: {
        policy: 'STATELY',
        deadLetter,
        retryLimit: 4,
        retryDelay: 7,
        retryBackoff: true,
        retryDelayMax: 120,
        expireInSeconds: 90,
        retentionSeconds: 3600,
        deleteAfterSeconds: 600,
        heartbeatSeconds: 30,
      },
    });

    expect(await f.tables.queue(f.qualified(name))).toMatchObject({
      name: f.qualified(name),
      policy: 'stately',
      dead_letter: f.qualified(deadLetter),
      retry_limit: 4,
      retry_delay: 7,
      retry_backoff: true,
      retry_delay_max: 120,
      expire_seconds: 90,
      retention_seconds: 3600,
      deletion_seconds: 600,
      heartbeat_seconds: 30,
    });
    // The dead letter queue is created with it, also under the prefix.
    expect(await f.tables.queue(f.qualified(deadLetter))).toMatchObject({ policy: 'standard', dead_letter: null });
    // The tenant sees its own names, never the prefix.
    expect(createQueue).toMatchObject({
      name,
      policy: 'STATELY',
      deadLetter,
      totalCount: 0,
      options: {
        retryLimit: 4,
        retryDelay: 7,
        retryBackoff: true,
        retryDelayMax: 120,
        expireInSeconds: 90,
        retentionSeconds: 3600,
        deleteAfterSeconds: 600,
        heartbeatSeconds: 30,
        partition: false,
      },
    });
  });

  it('creates a partitioned queue (a table of its own) whose jobs the API reads like any other', async () => {
    const name = f.queueName('partitioned');
    const { createQueue } = await f.api.data(CREATE_QUEUE, { name, options: { partition: true } });
    expect(createQueue.options.partition).toBe(true);
    expect(await f.tables.queue(f.qualified(name))).toMatchObject({ partition: true });

    const id = await f.api.sendJob(name, { big: 'volume' });
    expect(await f.tables.job(id)).toMatchObject({ name: f.qualified(name), data: { big: 'volume' } });
    expect(await f.api.data(QUEUE, { name })).toMatchObject({ queue: { totalCount: 1, queuedCount: 1 } });
    expect(await f.api.data(DELETE_QUEUE, { name })).toEqual({ deleteQueue: true });
    expect(await f.tables.job(id)).toBeUndefined();
  });

  it('refuses an existing queue with CONFLICT and leaves it unchanged', async () => {
    const name = f.queueName('existing');
    await f.api.data(CREATE_QUEUE, { name, options: { retryLimit: 1 } });
    expect(await f.api.errorCode(CREATE_QUEUE, { name, options: { retryLimit: 9, policy: 'SINGLETON' } })).toBe('CONFLICT');
    expect(await f.tables.queue(f.qualified(name))).toMatchObject({ retry_limit: 1, policy: 'standard' });
  });

  it('refuses an invalid option with BAD_USER_INPUT and stores nothing', async () => {
    const name = f.queueName('invalid');
    expect(await f.api.errorCode(CREATE_QUEUE, { name, options: { heartbeatSeconds: 1 } })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(CREATE_QUEUE, { name, options: { deadLetter: name } })).toBe('BAD_USER_INPUT');
    expect(await f.tables.queue(f.qualified(name))).toBeUndefined();
  });
});

describe('updateQueue', () => {
  it('changes options in pg-boss, sets and removes the dead letter queue', async () => {
    const name = f.queueName('tunable');
    const deadLetter = f.queueName('tunable-dlq');
    await f.api.data(CREATE_QUEUE, { name, options: { retryLimit: 1 } });

    const { updateQueue } = await f.api.data(UPDATE_QUEUE, {
      name,
      options: {
        retryLimit: 6,
        retryDelay: 3,
        retryBackoff: true,
        retryDelayMax: 60,
        expireInSeconds: 45,
        retentionSeconds: 7200,
        deleteAfterSeconds: 30,
        heartbeatSeconds: 20,
        deadLetter,
      },
    });
    expect(await f.tables.queue(f.qualified(name))).toMatchObject({
      retry_limit: 6,
      retry_delay: 3,
      retry_backoff: true,
      retry_delay_max: 60,
      expire_seconds: 45,
      retention_seconds: 7200,
      deletion_seconds: 30,
      heartbeat_seconds: 20,
      dead_letter: f.qualified(deadLetter),
    });
    expect(await f.tables.queue(f.qualified(deadLetter))).toBeDefined();
    expect(updateQueue).toMatchObject({ name, deadLetter, options: { retryLimit: 6, expireInSeconds: 45 } });

    await f.api.data(UPDATE_QUEUE, { name, options: { deadLetter: null } });
    expect(await f.tables.queue(f.qualified(name))).toMatchObject({ dead_letter: null, retry_limit: 6 });
  });

  it('refuses to change the policy (fixed at creation)', async () => {
    const name = f.queueName('fixed');
    await f.api.data(CREATE_QUEUE, { name });
    expect(await f.api.errorCode(UPDATE_QUEUE, { name, options: { policy: 'SINGLETON' } })).toBe('BAD_USER_INPUT');
    expect(await f.tables.queue(f.qualified(name))).toMatchObject({ policy: 'standard' });
  });

  it('answers NOT_FOUND for a missing queue and creates nothing', async () => {
    const name = f.queueName('missing');
    expect(await f.api.errorCode(UPDATE_QUEUE, { name, options: { retryLimit: 3 } })).toBe('NOT_FOUND');
    expect(await f.tables.queue(f.qualified(name))).toBeUndefined();
  });
});

describe('deleteQueue', () => {
  it('removes the queue and its jobs from pg-boss', async () => {
    const name = f.queueName('doomed');
    const id = await f.api.sendJob(name, { n: 1 });
    expect(await f.tables.job(id)).toBeDefined();

    expect(await f.api.data(DELETE_QUEUE, { name })).toEqual({ deleteQueue: true });
    expect(await f.tables.queue(f.qualified(name))).toBeUndefined();
    expect(await f.tables.job(id)).toBeUndefined();
    expect(await f.api.data(QUEUE, { name })).toEqual({ queue: null });
  });

  it('answers NOT_FOUND for a missing queue', async () => {
    expect(await f.api.errorCode(DELETE_QUEUE, { name: f.queueName('never') })).toBe('NOT_FOUND');
  });

  it('refuses with CONFLICT to delete a queue another queue uses as its dead letter queue', async () => {
    const name = f.queueName('main');
    const deadLetter = f.queueName('main-dlq');
    await f.api.data(CREATE_QUEUE, { name, options: { deadLetter } });
    const { body } = await httpGraphql(f.gateway.graphqlUrl, f.tenant.token, DELETE_QUEUE, { name: deadLetter });
    expect(body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(body.errors?.[0]?.message).not.toContain(f.tenant.tenant.id);
    expect(await f.tables.queue(f.qualified(deadLetter))).toBeDefined();
  });
});

describe('queues and queue(name)', () => {
  it("report live counts matching pg-boss's job table", async () => {
    const name = f.queueName('counted');
    await f.api.data(CREATE_QUEUE, { name });
    const ready = [await f.api.sendJob(name, { n: 1 }), await f.api.sendJob(name, { n: 2 }), await f.api.sendJob(name, { n: 3 })];
    await f.api.sendJob(name, { n: 4 }, { delaySeconds: 3600 });
    // An outside worker takes one job: it is active in pg-boss.
    const [taken] = await f.boss.fetch(f.qualified(name));
    expect(ready).toContain(taken?.id);
    const toCancel = ready.find((id) => id !== taken!.id)!;
    await f.api.data('mutation ($queue: String!, $id: ID!) { cancelJob(queue: $queue, id: $id) { state } }', { queue: name, id: toCancel });

    const states = (await f.tables.jobsIn(f.qualified(name))).map((job) => job.state).sort();
    expect(states).toEqual(['active', 'cancelled', 'created', 'created']);

    const { queue } = await f.api.data(QUEUE, { name });
    expect(queue).toMatchObject({
      name,
      queuedCount: 2,
      deferredCount: 1,
      activeCount: 1,
      cancelledCount: 1,
      completedCount: 0,
      failedCount: 0,
      totalCount: 4,
    });

    const { queues } = await f.api.data<{ queues: { name: string; totalCount: number }[] }>(QUEUES);
    expect(queues.find((q) => q.name === name)).toMatchObject({ totalCount: 4, queuedCount: 2, deferredCount: 1, activeCount: 1 });
    // Only this tenant's queues, without the prefix.
    expect(queues.every((q) => !q.name.includes(f.tenant.tenant.id))).toBe(true);
    const { rows } = await f.tables.sql.query<{ name: string }>('SELECT name FROM pgboss.queue WHERE starts_with(name, $1) ORDER BY name', [f.qualified('')]);
    expect(queues.map((q) => q.name)).toEqual(rows.map((row) => row.name.slice(f.qualified('').length)));
  });

  it('queue(name) is null for a queue that does not exist', async () => {
    expect(await f.api.data(QUEUE, { name: f.queueName('absent') })).toEqual({ queue: null });
  });
});
