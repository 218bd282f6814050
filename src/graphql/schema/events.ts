import type { JobEventHistoryPage } from '../../events/job-event-history.ts';
import type { JobEventView } from '../../events/job-event-view.ts';
import { JOB_EVENT_TYPES, type JobEventType } from '../../events/job-event.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../tenant/job-cursor.ts';
import { builder } from '../builder.ts';
import { JobRef, JobStateEnum, PageInfoRef } from './jobs.ts';

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

const JobEventPageRef = builder.objectRef<JobEventHistoryPage>('JobEventPage').implement({
  description: "A page of one job's logged events, oldest first.",
  fields: (t) => ({
    // The page's size is counted on `jobEventHistory` (its `first`).
    nodes: t.field({ type: [JobEventRef], complexity: { field: 1, multiplier: 1 }, resolve: (page) => page.nodes }),
    pageInfo: t.field({
      type: PageInfoRef,
      description:
        '`endCursor` is where the page ends, never null here: pass it as `after` for the next page or, once `hasNextPage` is false, ' +
        'to `jobEvents(jobId:, after:)` to follow the job live from there.',
      resolve: (page) => page,
    }),
  }),
});

builder.queryField('jobEventHistory', (t) =>
  t.field({
    type: JobEventPageRef,
    authScopes: { read: true },
    // A size out of range is refused by the resolver, with its own message.
    complexity: (args) => ({ field: 1, multiplier: Math.min(Math.max(args.first ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE) }),
    description:
      "A job's events from the job-event log (kept JOBGATE_EVENT_RETENTION_HOURS), oldest first, each with its `cursor`: the same events " +
      '`jobEvents(jobId:)` delivers. Empty for a job the queue never had (or whose events are no longer kept). With `after` (a `JobEvent.cursor` ' +
      'or an `endCursor`), the events after it; CURSOR_EXPIRED once they are no longer kept.',
    args: {
      queue: t.arg.string({ required: true }),
      jobId: t.arg.id({ required: true }),
      after: t.arg.string({ description: 'A JobEvent.cursor or the `endCursor` of the previous page, of this tenant.' }),
      first: t.arg.int({ description: `1-${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE}.` }),
    },
    resolve: (_root, args, { eventHistory }) =>
      eventHistory.read(args.queue, String(args.jobId), { after: args.after ?? undefined, first: args.first ?? undefined }),
  }),
);

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
