import type { WorkerSessionView } from '../../dispatch/tenant-work.ts';
import { builder } from '../builder.ts';
import { JobRef } from './jobs.ts';

const GroupTierLimitInput = builder.inputType('GroupTierLimitInput', {
  fields: (t) => ({
    tier: t.string({ required: true, description: 'A `groupTier` jobs are sent with.' }),
    limit: t.int({ required: true }),
  }),
});

const GroupConcurrencyInput = builder.inputType('GroupConcurrencyInput', {
  description:
    "At most this many jobs of one `groupId` active at once in the queue, across all the tenant's workers and gateway instances " +
    "(pg-boss's group concurrency); jobs without a group are not limited. Workers of one queue on one instance share the strictest limits asked.",
  fields: (t) => ({
    default: t.int({ required: true, description: 'For groups whose tier has no limit of its own.' }),
    tiers: t.field({ type: [GroupTierLimitInput], description: 'Limits by `groupTier`.' }),
  }),
});

builder.subscriptionField('workAssigned', (t) =>
  t.field({
    type: JobRef,
    authScopes: { work: true },
    description:
      'Pushes ready jobs of the named queues to this worker connection, never more than `concurrency` unsettled at a time. ' +
      'Queues that do not exist yet are created with defaults, as sendJob does: workers may start before their producers. ' +
      'Only this connection may complete, fail or touch them (CONFLICT otherwise); when it closes or the subscription ends, ' +
      'unsettled jobs are failed back at once (a failed attempt, so retry limits apply) and go to other workers.',
    args: {
      queues: t.arg.stringList({ required: true }),
      concurrency: t.arg.int({ defaultValue: 1 }),
      groupConcurrency: t.arg({ type: GroupConcurrencyInput }),
    },
    subscribe: (_root, args, { work }) => work.subscribe(args.queues, args.concurrency ?? 1, args.groupConcurrency),
    resolve: (job) => job,
  }),
);

builder.subscriptionField('workAssignedBatches', (t) =>
  t.field({
    type: [JobRef],
    authScopes: { work: true },
    description:
      'workAssigned for busy workers: the jobs claimed together for this connection arrive in one message. ' +
      'Same holds, limits and fail-back; settle them with completeJobs.',
    args: {
      queues: t.arg.stringList({ required: true }),
      concurrency: t.arg.int({ defaultValue: 1 }),
      groupConcurrency: t.arg({ type: GroupConcurrencyInput }),
    },
    subscribe: (_root, args, { work }) => work.subscribeBatches(args.queues, args.concurrency ?? 1, args.groupConcurrency),
    resolve: (jobs) => jobs,
  }),
);

builder.mutationField('pauseWork', (t) =>
  t.boolean({
    authScopes: { work: true },
    description:
      "Sent over a worker's graphql-ws connection: stops pushing new jobs to its workAssigned subscriptions, while the jobs it holds " +
      'stay held until it settles them. Lets a worker stop cleanly without failing jobs back. False when nothing was subscribed.',
    resolve: (_root, _args, { work }) => work.pause(),
  }),
);

const WorkerSessionRef = builder.objectRef<WorkerSessionView>('WorkerSession').implement({
  description: 'A connected workAssigned subscription, on any gateway instance.',
  fields: (t) => ({
    id: t.exposeID('id'),
    queues: t.exposeStringList('queues'),
    concurrency: t.exposeInt('concurrency'),
    inHand: t.exposeInt('inHand', { description: 'Jobs it holds right now.' }),
    connectedAt: t.expose('connectedAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('seenAt', { type: 'DateTime', description: 'Refreshed every 30 s while connected.' }),
  }),
});

builder.queryField('workers', (t) =>
  t.field({
    type: [WorkerSessionRef],
    authScopes: { read: true },
    description: "The tenant's connected workers, optionally only those taking work from one queue.",
    args: { queue: t.arg.string() },
    resolve: (_root, args, { work }) => work.list(args.queue ?? undefined),
  }),
);
