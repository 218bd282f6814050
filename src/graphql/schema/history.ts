import { MAX_HISTORY_POINTS, type QueueHistoryPoint } from '../../stats/queue-history.ts';
import type { QueueRecord } from '../../tenant/queue-record.ts';
import { builder } from '../builder.ts';
import { QueueRef } from './queues.ts';

const QueueHistoryPointRef = builder.objectRef<QueueHistoryPoint>('QueueHistoryPoint').implement({
  description: "One interval of a queue's recent history, from the timestamps of the jobs still stored.",
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'Start of the interval.' }),
    created: t.exposeInt('created', { description: 'Jobs created in the interval.' }),
    completed: t.exposeInt('completed', { description: 'Jobs completed in the interval.' }),
    failed: t.exposeInt('failed', { description: 'Jobs that failed for good (retries exhausted) in the interval.' }),
    cancelled: t.exposeInt('cancelled', { description: 'Jobs cancelled in the interval.' }),
    queued: t.exposeInt('queued', { description: 'Waiting jobs (deferred included) at the end of the interval.' }),
    active: t.exposeInt('active', { description: 'Active jobs at the end of the interval.' }),
  }),
});

builder.objectField(QueueRef, 'history', (t) =>
  t.field({
    type: [QueueHistoryPointRef],
    authScopes: { read: true },
    description:
      'Throughput and depth per interval over the last `minutes` (1-1440, default 60), oldest first; ' +
      'intervals of `intervalSeconds` (10-3600, default 60), at most 1440 of them.',
    args: {
      minutes: t.arg.int({ defaultValue: 60 }),
      intervalSeconds: t.arg.int({ defaultValue: 60 }),
    },
    // One aggregate over the queue's stored jobs; its points are a few numbers each (a window out of range is refused by the resolver).
    complexity: (args) => ({
      field: 10,
      multiplier: Math.ceil(Math.min(Math.max(((args.minutes ?? 60) * 60) / Math.max(1, args.intervalSeconds ?? 60), 1), MAX_HISTORY_POINTS) / 10),
    }),
    resolve: (queue: QueueRecord, args, { history }) => history.load(queue.name, { minutes: args.minutes ?? 60, intervalSeconds: args.intervalSeconds ?? 60 }),
  }),
);
