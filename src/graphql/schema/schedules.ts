import { DEFAULT_PREVIEW_COUNT, MAX_PREVIEW_COUNT } from '../../tenant/schedule-preview.ts';
import type { ScheduleRecord } from '../../tenant/schedules.ts';
import { builder } from '../builder.ts';
import { withoutNulls } from '../inputs.ts';
import { jobOptionFields } from './jobs.ts';

const ScheduleRef = builder.objectRef<ScheduleRecord>('Schedule').implement({
  description: 'A recurring job: a cron expression in a time zone, one per key and queue.',
  fields: (t) => ({
    queue: t.exposeString('queue'),
    key: t.exposeString('key'),
    cron: t.exposeString('cron'),
    timezone: t.exposeString('timezone'),
    data: t.expose('data', { type: 'JSON', nullable: true }),
    options: t.expose('options', { type: 'JSON', description: 'Send options of the jobs it creates.' }),
    createdOn: t.expose('createdOn', { type: 'DateTime' }),
    updatedOn: t.expose('updatedOn', { type: 'DateTime' }),
    lastJobId: t.exposeID('lastJobId', { nullable: true }),
  }),
});

const ScheduleOptionsInput = builder.inputType('ScheduleOptionsInput', {
  fields: (t) => ({
    tz: t.string({ description: 'IANA time zone, default UTC.' }),
    key: t.string({ description: 'Several schedules per queue, one per key.' }),
    ...jobOptionFields(t),
  }),
});

builder.queryField('schedules', (t) =>
  t.field({
    type: [ScheduleRef],
    authScopes: { read: true },
    description: 'Schedules of one queue, or of every queue of the tenant.',
    args: { queue: t.arg.string() },
    resolve: (_root, args, { schedules }) => schedules.listSchedules(args.queue ?? undefined),
  }),
);

builder.mutationFields((t) => ({
  scheduleJob: t.field({
    type: ScheduleRef,
    authScopes: { publish: true },
    description: 'Creates or replaces the schedule of (queue, key). BAD_USER_INPUT for an invalid cron expression or time zone.',
    args: {
      queue: t.arg.string({ required: true }),
      cron: t.arg.string({ required: true }),
      data: t.arg({ type: 'JSON' }),
      options: t.arg({ type: ScheduleOptionsInput }),
    },
    resolve: (_root, args, { schedules }) => {
      return schedules.schedule(args.queue, args.cron, args.data, withoutNulls(args.options));
    },
  }),
  unscheduleJob: t.boolean({
    authScopes: { publish: true },
    args: { queue: t.arg.string({ required: true }), key: t.arg.string() },
    resolve: (_root, args, { schedules }) => schedules.unschedule(args.queue, args.key ?? undefined),
  }),
}));

builder.queryField('previewSchedule', (t) =>
  t.field({
    type: ['DateTime'],
    authScopes: { read: true },
    // A list of times: one per ten asked for.
    complexity: (args) => Math.ceil(Math.min(Math.max(args.count ?? DEFAULT_PREVIEW_COUNT, 1), MAX_PREVIEW_COUNT) / 10),
    description:
      'The next times a cron expression fires in a time zone, as the scheduler reads it (nothing is stored): to check one before scheduleJob. ' +
      'BAD_USER_INPUT for an expression or time zone scheduleJob would refuse (`extensions.argument` says which).',
    args: {
      cron: t.arg.string({ required: true }),
      tz: t.arg.string({ description: 'IANA time zone, default UTC.' }),
      count: t.arg.int({ description: `1-${MAX_PREVIEW_COUNT}, default ${DEFAULT_PREVIEW_COUNT}.` }),
      from: t.arg({ type: 'DateTime', description: 'After this time; default now.' }),
    },
    resolve: (_root, args, { schedulePreview }) =>
      schedulePreview(args.cron, { tz: args.tz ?? undefined, count: args.count ?? undefined, from: args.from ?? undefined }),
  }),
);
