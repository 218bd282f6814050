import { QUEUE_POLICIES, type QueuePolicy, type QueueRecord } from '../../tenant/queue-record.ts';
import { builder } from '../builder.ts';
import { withoutNulls } from '../inputs.ts';

const QueuePolicyEnum = builder.enumType('QueuePolicy', {
  description:
    'pg-boss queue policies: STANDARD (default), SHORT (one queued job per key), SINGLETON (one active), STATELY (one queued and one active), EXCLUSIVE (one queued or active), KEY_STRICT_FIFO (strict order per singleton key).',
  values: Object.fromEntries(QUEUE_POLICIES.map((policy) => [policy.toUpperCase(), { value: policy }])),
});

const QueueOptionsRef = builder.objectRef<QueueRecord>('QueueOptions').implement({
  description: 'Defaults every job of the queue inherits unless it overrides them.',
  fields: (t) => ({
    retryLimit: t.exposeInt('retryLimit'),
    retryDelay: t.exposeInt('retryDelay'),
    retryBackoff: t.exposeBoolean('retryBackoff'),
    retryDelayMax: t.exposeInt('retryDelayMax', { nullable: true }),
    expireInSeconds: t.exposeInt('expireInSeconds'),
    retentionSeconds: t.exposeInt('retentionSeconds'),
    deleteAfterSeconds: t.exposeInt('deleteAfterSeconds'),
    heartbeatSeconds: t.exposeInt('heartbeatSeconds', { nullable: true }),
    partition: t.exposeBoolean('partition'),
  }),
});

export const QueueRef = builder.objectRef<QueueRecord>('Queue').implement({
  description: "One of the tenant's queues, with live counts.",
  fields: (t) => ({
    name: t.exposeString('name'),
    policy: t.field({ type: QueuePolicyEnum, resolve: (queue) => queue.policy as QueuePolicy }),
    deadLetter: t.exposeString('deadLetter', { nullable: true }),
    queuedCount: t.exposeInt('queuedCount', { description: 'Waiting jobs (created or retry), deferred ones included.' }),
    deferredCount: t.exposeInt('deferredCount', { description: 'Waiting jobs whose start time is still ahead.' }),
    activeCount: t.exposeInt('activeCount'),
    completedCount: t.exposeInt('completedCount'),
    failedCount: t.exposeInt('failedCount'),
    cancelledCount: t.exposeInt('cancelledCount'),
    totalCount: t.exposeInt('totalCount', { description: 'Every job stored for the queue, in any state.' }),
    options: t.field({ type: QueueOptionsRef, resolve: (queue) => queue }),
    createdOn: t.expose('createdOn', { type: 'DateTime' }),
    updatedOn: t.expose('updatedOn', { type: 'DateTime' }),
  }),
});

const QueueOptionsInput = builder.inputType('QueueOptionsInput', {
  fields: (t) => ({
    policy: t.field({ type: QueuePolicyEnum, description: 'Fixed at creation.' }),
    deadLetter: t.string({ description: 'Queue receiving jobs whose retries are exhausted (created if absent). Null in updateQueue removes it.' }),
    retryLimit: t.int(),
    retryDelay: t.int(),
    retryBackoff: t.boolean(),
    retryDelayMax: t.int(),
    expireInSeconds: t.int(),
    retentionSeconds: t.int(),
    deleteAfterSeconds: t.int(),
    heartbeatSeconds: t.int(),
    partition: t.boolean({ description: 'A table of its own (fixed at creation).' }),
    warningQueueSize: t.int(),
  }),
});

builder.queryFields((t) => ({
  queues: t.field({
    type: [QueueRef],
    authScopes: { read: true },
    // A tenant may have many queues: each selected field is counted as if for 50 of them.
    complexity: { field: 1, multiplier: 50 },
    resolve: (_root, _args, { queues }) => queues.listQueues(),
  }),
  queue: t.field({
    type: QueueRef,
    nullable: true,
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, { queues }) => queues.getQueue(args.name),
  }),
}));

builder.mutationFields((t) => ({
  createQueue: t.field({
    type: QueueRef,
    authScopes: { publish: true },
    description: 'CONFLICT when the queue exists.',
    args: { name: t.arg.string({ required: true }), options: t.arg({ type: QueueOptionsInput }) },
    resolve: (_root, args, { queues }) => queues.createQueue(args.name, withoutNulls(args.options)),
  }),
  updateQueue: t.field({
    type: QueueRef,
    authScopes: { publish: true },
    args: { name: t.arg.string({ required: true }), options: t.arg({ type: QueueOptionsInput, required: true }) },
    resolve: (_root, args, { queues }) => {
      const settings = withoutNulls(args.options);
      // An explicit null dead letter removes it.
      return queues.updateQueue(args.name, args.options.deadLetter === null ? { ...settings, deadLetter: null } : settings);
    },
  }),
  deleteQueue: t.boolean({
    authScopes: { publish: true },
    description: 'Deletes the queue and all its jobs.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, { queues }) => queues.deleteQueue(args.name),
  }),
}));
