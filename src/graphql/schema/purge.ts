import type { PurgeKind } from '../../tenant/purge.ts';
import { builder } from '../builder.ts';

const purgeField = (kind: PurgeKind, description: string) =>
  builder.mutationField(kind === 'queued' ? 'deleteQueuedJobs' : kind === 'stored' ? 'deleteStoredJobs' : 'deleteAllJobs', (t) =>
    t.field({
      type: 'Int',
      authScopes: { publish: true },
      description: `${description} How many were deleted (each reaches jobEvents as DELETED); NOT_FOUND for a queue that does not exist.`,
      args: { queue: t.arg.string({ required: true }) },
      resolve: (_root, args, { purge }) => purge.purge(kind, args.queue),
    }),
  );

purgeField('queued', 'Deletes the jobs waiting in a queue (created or retry, deferred and blocked ones included).');
purgeField('stored', 'Deletes the finished jobs a queue keeps (completed, cancelled, failed).');
purgeField('all', 'Deletes every job of a queue, active ones too; the queue stays.');
