/**
 * previewSchedule: the next run times of a cron expression as pg-boss reads
 * it, with nothing stored.
 */
import { describe, expect, it } from '@jest/globals';
import { httpGraphql } from '../support/clients.ts';
import { issueExtraToken } from '../support/gateway.ts';
import { apiFor, useJobsFixture } from '../support/jobs.ts';

const PREVIEW = 'query($cron: String!, $tz: String, $count: Int, $from: DateTime) { previewSchedule(cron: $cron, tz: $tz, count: $count, from: $from) }';

const f = useJobsFixture();

describe('previewSchedule', () => {
  it('gives the next times in the time zone, as pg-boss computes them, and stores nothing', async () => {
    const before = await f.tables.sql.query('SELECT count(*)::int AS n FROM pgboss.schedule');
    const from = '2030-03-29T12:00:00.000Z';
    const { previewSchedule } = await f.api.data(PREVIEW, { cron: '0 9 * * 1-5', tz: 'Europe/Paris', count: 3, from });
    // Friday the 29th, then Monday the 1st (summer time from the 31st), Tuesday.
    expect(previewSchedule).toEqual(['2030-04-01T07:00:00.000Z', '2030-04-02T07:00:00.000Z', '2030-04-03T07:00:00.000Z']);
    expect(previewSchedule).toEqual(f.boss.previewSchedule('0 9 * * 1-5', { tz: 'Europe/Paris', count: 3, from: new Date(from) }).map((d) => d.toISOString()));
    const defaults = (await f.api.data(PREVIEW, { cron: '*/5 * * * *' })).previewSchedule as string[];
    expect(defaults).toHaveLength(10);
    expect(Date.parse(defaults[0]!)).toBeGreaterThan(Date.now() - 1000);
    expect(await f.tables.sql.query('SELECT count(*)::int AS n FROM pgboss.schedule')).toMatchObject({ rows: before.rows });
  });

  it('refuses what scheduleJob refuses, saying which argument', async () => {
    const argument = async (variables: Record<string, unknown>) => {
      const { body } = await httpGraphql<{ previewSchedule: unknown }>(f.gateway.graphqlUrl, f.tenant.token, PREVIEW, variables);
      const error = body.errors?.[0];
      return [error?.extensions?.code, error?.extensions?.argument];
    };
    expect(await argument({ cron: 'not a cron' })).toEqual(['BAD_USER_INPUT', 'cron']);
    expect(await argument({ cron: '61 * * * *' })).toEqual(['BAD_USER_INPUT', 'cron']);
    expect(await argument({ cron: '0 9 * * *', tz: 'Mars/Olympus' })).toEqual(['BAD_USER_INPUT', 'tz']);
    expect(await argument({ cron: '0 9 * * *', count: 0 })).toEqual(['BAD_USER_INPUT', 'count']);
    expect(await argument({ cron: '0 9 * * *', count: 101 })).toEqual(['BAD_USER_INPUT', 'count']);
    const schedule = 'mutation($queue: String!, $cron: String!, $tz: String) { scheduleJob(queue: $queue, cron: $cron, options: { tz: $tz }) { key } }';
    expect(await f.api.errorCode(schedule, { queue: f.queueName('s'), cron: '0 9 * * *', tz: 'Mars/Olympus' })).toBe('BAD_USER_INPUT');
  });

  it('needs READ only', async () => {
    const reader = apiFor(f.gateway, (await issueExtraToken(f.gateway, f.tenant.tenant.id, ['READ'])).token);
    expect((await reader.data(PREVIEW, { cron: '0 0 1 1 *', count: 1 })).previewSchedule).toHaveLength(1);
    const worker = apiFor(f.gateway, (await issueExtraToken(f.gateway, f.tenant.tenant.id, ['WORK'])).token);
    expect(await worker.errorCode(PREVIEW, { cron: '0 0 1 1 *' })).toBe('FORBIDDEN');
  });
});
