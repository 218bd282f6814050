import { builder } from '../builder.ts';
import { JobRef } from './jobs.ts';

builder.subscriptionField('workAssigned', (t) =>
  t.field({
    type: JobRef,
    authScopes: { work: true },
    description:
      'Pushes ready jobs of the named queues to this worker connection, never more than `concurrency` unsettled at a time. ' +
      'Only this connection may complete, fail or touch them (CONFLICT otherwise); when it closes or the subscription ends, ' +
      'unsettled jobs are failed back at once (a failed attempt, so retry limits apply) and go to other workers.',
    args: {
      queues: t.arg.stringList({ required: true }),
      concurrency: t.arg.int({ defaultValue: 1 }),
    },
    subscribe: (_root, args, { work }) => work.subscribe(args.queues, args.concurrency ?? 1),
    resolve: (job) => job,
  }),
);
