import { describe, expect, it } from '@jest/globals';
import { useJobsFixture } from '../support/jobs.ts';

const SCHEDULE_FIELDS = 'queue key cron timezone data options';
const SCHEDULE = `mutation ($queue: String!, $cron: String!, $data: JSON, $options: ScheduleOptionsInput) {
  scheduleJob(queue: $queue, cron: $cron, data: $data, options: $options) { ${SCHEDULE_FIELDS} }
}`;
const UNSCHEDULE = 'mutation ($queue: String!, $key: String) { unscheduleJob(queue: $queue, key: $key) }';
const SCHEDULES = `query ($queue: String) { schedules(queue: $queue) { ${SCHEDULE_FIELDS} } }`;

// Far from "every minute": the gateway's own cron pass never fires these during a test.
const NIGHTLY = '30 3 * * *';

const f = useJobsFixture();

describe('scheduleJob', () => {
  it('stores a cron schedule in pgboss.schedule under the prefixed queue name, with tz, key, data and send options', async () => {
    const queue = f.queueName('reports');
    const deadLetter = f.queueName('reports-dlq');
    const { scheduleJob } = await f.api.data(SCHEDULE, {
      queue,
      cron: NIGHTLY,
      data: { report: 'daily', formats: ['pdf'] },
      options: { tz: 'Europe/Paris', key: 'daily-pdf', priority: 6, retryLimit: 4, expireInSeconds: 600, singletonKey: 'daily', deadLetter },
    });

    const rows = await f.tables.schedules(f.qualified(queue));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      name: f.qualified(queue),
      key: 'daily-pdf',
      cron: NIGHTLY,
      timezone: 'Europe/Paris',
      data: { report: 'daily', formats: ['pdf'] },
    });
    expect(rows[0]!.options).toMatchObject({ priority: 6, retryLimit: 4, expireInSeconds: 600, singletonKey: 'daily', deadLetter: f.qualified(deadLetter) });
    // Its queue and dead letter queue exist in pg-boss.
    expect(await f.tables.queue(f.qualified(queue))).toBeDefined();
    expect(await f.tables.queue(f.qualified(deadLetter))).toBeDefined();

    expect(scheduleJob).toEqual({
      queue,
      key: 'daily-pdf',
      cron: NIGHTLY,
      timezone: 'Europe/Paris',
      data: { report: 'daily', formats: ['pdf'] },
      options: expect.objectContaining({ priority: 6, retryLimit: 4, deadLetter }),
    });
    expect(JSON.stringify(scheduleJob)).not.toContain(f.tenant.tenant.id);
  });

  it('defaults to UTC and the empty key, and replaces the schedule of the same (queue, key)', async () => {
    const queue = f.queueName('cleanup');
    await f.api.data(SCHEDULE, { queue, cron: NIGHTLY });
    await f.api.data(SCHEDULE, { queue, cron: '0 4 * * 1', data: { deep: true } });

    const rows = await f.tables.schedules(f.qualified(queue));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key: '', cron: '0 4 * * 1', timezone: 'UTC', data: { deep: true } });
  });

  it.each([
    ['an invalid cron expression', { cron: 'every tuesday' }],
    ['a cron with an out-of-range field', { cron: '61 * * * *' }],
    ['an unknown time zone', { cron: NIGHTLY, options: { tz: 'Mars/Olympus_Mons' } }],
    ['data that is not an object or array', { cron: NIGHTLY, data: 12 }],
  ])('refuses %s with BAD_USER_INPUT and stores nothing', async (_case, variables) => {
    const queue = f.queueName('refused');
    expect(await f.api.errorCode(SCHEDULE, { queue, ...variables })).toBe('BAD_USER_INPUT');
    expect(await f.tables.schedules(f.qualified(queue))).toEqual([]);
    expect(await f.tables.queue(f.qualified(queue))).toBeUndefined();
  });

  it('leaves an existing schedule untouched when a replacement is refused', async () => {
    const queue = f.queueName('kept');
    await f.api.data(SCHEDULE, { queue, cron: NIGHTLY, options: { key: 'k' } });
    expect(await f.api.errorCode(SCHEDULE, { queue, cron: 'nope', options: { key: 'k' } })).toBe('BAD_USER_INPUT');
    expect(await f.api.errorCode(SCHEDULE, { queue, cron: NIGHTLY, options: { key: 'k', tz: 'Nowhere/Land' } })).toBe('BAD_USER_INPUT');
    expect(await f.tables.schedules(f.qualified(queue))).toMatchObject([{ key: 'k', cron: NIGHTLY, timezone: 'UTC' }]);
  });
});

describe('schedules and unscheduleJob', () => {
  it("lists the schedules of one queue or of all the tenant's queues, without the prefix", async () => {
    const first = f.queueName('listed-a');
    const second = f.queueName('listed-b');
    await f.api.data(SCHEDULE, { queue: first, cron: NIGHTLY, options: { key: 'one' } });
    await f.api.data(SCHEDULE, { queue: first, cron: '0 5 * * *', options: { key: 'two', tz: 'America/New_York' } });
    await f.api.data(SCHEDULE, { queue: second, cron: '0 6 * * *' });

    const { schedules: ofFirst } = await f.api.data(SCHEDULES, { queue: first });
    expect(ofFirst.map((s: { key: string; cron: string; timezone: string }) => [s.key, s.cron, s.timezone]).sort()).toEqual([
      ['one', NIGHTLY, 'UTC'],
      ['two', '0 5 * * *', 'America/New_York'],
    ]);

    const { schedules: all } = await f.api.data<{ schedules: { queue: string; key: string }[] }>(SCHEDULES);
    const { rows } = await f.tables.sql.query<{ name: string; key: string }>('SELECT name, key FROM pgboss.schedule WHERE starts_with(name, $1)', [
      f.qualified(''),
    ]);
    const unprefixed = rows.map((row) => `${row.name.slice(f.qualified('').length)}#${row.key}`).sort();
    expect(all.map((s) => `${s.queue}#${s.key}`).sort()).toEqual(unprefixed);
    expect(unprefixed).toEqual(expect.arrayContaining([`${first}#one`, `${first}#two`, `${second}#`]));
  });

  it('removes one schedule by key from pg-boss, then NOT_FOUND', async () => {
    const queue = f.queueName('removed');
    await f.api.data(SCHEDULE, { queue, cron: NIGHTLY, options: { key: 'gone' } });
    await f.api.data(SCHEDULE, { queue, cron: NIGHTLY, options: { key: 'stays' } });

    expect(await f.api.data(UNSCHEDULE, { queue, key: 'gone' })).toEqual({ unscheduleJob: true });
    expect((await f.tables.schedules(f.qualified(queue))).map((row) => row.key)).toEqual(['stays']);
    expect(await f.api.errorCode(UNSCHEDULE, { queue, key: 'gone' })).toBe('NOT_FOUND');

    const { schedules } = await f.api.data(SCHEDULES, { queue });
    expect(schedules.map((s: { key: string }) => s.key)).toEqual(['stays']);
  });

  it('removes the default-key schedule when no key is given', async () => {
    const queue = f.queueName('default-key');
    await f.api.data(SCHEDULE, { queue, cron: NIGHTLY });
    expect(await f.api.data(UNSCHEDULE, { queue })).toEqual({ unscheduleJob: true });
    expect(await f.tables.schedules(f.qualified(queue))).toEqual([]);
  });

  it('answers NOT_FOUND for a queue without schedules or a missing queue', async () => {
    expect(await f.api.errorCode(UNSCHEDULE, { queue: f.queueName('never-scheduled') })).toBe('NOT_FOUND');
    expect(await f.api.data(SCHEDULES, { queue: f.queueName('never-scheduled') })).toEqual({ schedules: [] });
  });
});
