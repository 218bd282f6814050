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
    at: t.expose('at', { type: 'DateTime', description: 'When the gateway received the change.' }),
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
      "Every state change of the tenant's jobs. All arguments are optional filters. With `jobId`, a job already in a final state yields that final event at once.",
    args: {
      queue: t.arg.string(),
      jobId: t.arg.id(),
      types: t.arg({ type: [JobEventTypeEnum] }),
    },
    subscribe: (_root, args, { events }) =>
      events.subscribe({
        queue: args.queue ?? undefined,
        jobId: args.jobId === null || args.jobId === undefined ? undefined : String(args.jobId),
        types: args.types ?? undefined,
      }),
    resolve: (event) => event,
  }),
);
