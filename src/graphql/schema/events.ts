import { JOB_EVENT_TYPES, type JobEventType } from '../../events/job-event.ts';
import type { JobEventView } from '../../events/tenant-events.ts';
import { builder } from '../builder.ts';
import { JobRef, JobStateEnum } from './jobs.ts';

const JobEventTypeEnum = builder.enumType('JobEventType', {
  values: Object.fromEntries(JOB_EVENT_TYPES.map((type) => [type, { value: type }])) as Record<JobEventType, { value: JobEventType }>,
});

const JobEventRef = builder.objectRef<JobEventView>('JobEvent').implement({
  description: 'One state change of a job, whoever caused it.',
  fields: (t) => ({
    type: t.field({ type: JobEventTypeEnum, resolve: (event) => event.type }),
    queue: t.exposeString('queue'),
    jobId: t.exposeID('jobId'),
    state: t.field({
      type: JobStateEnum,
      resolve: (event) => event.state,
      description: 'The state the job entered (for DELETED: the state it was deleted in).',
    }),
    retryCount: t.exposeInt('retryCount'),
    at: t.expose('at', { type: 'DateTime', description: 'When the change was made (the time of the statement that made it).' }),
    cursor: t.exposeString('cursor', {
      description:
        'Where the stream stands after this event: pass it as `jobEvents(after:)` to resume right after it. Opaque, valid for this tenant only, ' +
        'for JOBGATE_EVENT_RETENTION_HOURS; over server-sent events it is also the event id.',
    }),
    progress: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the holder reported (PROGRESS events; null for the others).',
      resolve: (event) => event.progress,
    }),
    job: t.field({
      type: JobRef,
      nullable: true,
      description: 'The job as it is now (null once deleted).',
      resolve: (event, _args, { jobs }) => jobs.getJob(event.queue, event.jobId),
    }),
  }),
});

builder.subscriptionField('jobEvents', (t) =>
  t.field({
    type: JobEventRef,
    authScopes: { read: true },
    description:
      "Every state change of the tenant's jobs, in the order of the job-event log (each job's events in the order they happened). " +
      '`queue`, `jobId` and `types` are optional filters. With `after` (a `JobEvent.cursor`), the logged events after that cursor come first, ' +
      'then live ones, none missed and none twice; CURSOR_EXPIRED once they are no longer kept. Over server-sent events, a Last-Event-ID header ' +
      'stands for `after`. Without `after` but with `jobId`, a job already in a final state yields that final event at once.',
    args: {
      queue: t.arg.string(),
      jobId: t.arg.id(),
      types: t.arg({ type: [JobEventTypeEnum] }),
      after: t.arg.string({ description: 'A JobEvent.cursor of this tenant: resume right after that event.' }),
    },
    subscribe: (_root, args, { events, lastEventId }) =>
      events.subscribe({
        queue: args.queue ?? undefined,
        jobId: args.jobId === null || args.jobId === undefined ? undefined : String(args.jobId),
        types: args.types ?? undefined,
        after: args.after ?? lastEventId ?? undefined,
      }),
    resolve: (event) => event,
  }),
);
