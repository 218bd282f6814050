import type { UpsertedJob } from '../../tenant/edits.ts';
import { builder } from '../builder.ts';
import { withoutNulls } from '../inputs.ts';
import { jobOptionFields, JobRef } from './jobs.ts';

const JobEditInput = builder.inputType('JobEditInput', {
  description: "What updateJob and upsertJob change; omitted fields keep the job's values (an upsert that inserts takes the queue's).",
  fields: (t) => {
    const {
      priority,
      startAfter,
      delaySeconds,
      retryLimit,
      retryDelay,
      retryBackoff,
      retryDelayMax,
      expireInSeconds,
      heartbeatSeconds,
      deadLetter,
      retentionSeconds,
      deleteAfterSeconds,
      groupId,
      groupTier,
    } = jobOptionFields(t);
    return {
      priority,
      startAfter,
      delaySeconds,
      retryLimit,
      retryDelay,
      retryBackoff,
      retryDelayMax,
      expireInSeconds,
      heartbeatSeconds,
      deadLetter,
      retentionSeconds,
      deleteAfterSeconds,
      groupId,
      groupTier,
    };
  },
});

const JobUpsertRef = builder.objectRef<UpsertedJob>('JobUpsert').implement({
  fields: (t) => ({
    job: t.field({ type: JobRef, resolve: (upserted) => upserted.job }),
    inserted: t.exposeBoolean('inserted', { description: 'A new job; false when a waiting job with the key was edited.' }),
  }),
});

const dataArg = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) =>
  t.arg({ type: 'JSON', description: "The new data, a JSON object or array; omitted or null keeps the job's." });

builder.mutationFields((t) => ({
  updateJob: t.field({
    type: JobRef,
    authScopes: { publish: true },
    description:
      'Edits a job that has not started (created or retry, blocked ones too): data, priority, start time, retry and expiry settings. ' +
      'NOT_FOUND for no such job, CONFLICT once it is active or finished; jobEvents reports UPDATED.',
    args: { queue: t.arg.string({ required: true }), id: t.arg.id({ required: true }), data: dataArg(t), options: t.arg({ type: JobEditInput }) },
    resolve: (_root, args, { edits }) => edits.update(args.queue, String(args.id), args.data, withoutNulls(args.options)),
  }),
  upsertJob: t.field({
    type: JobUpsertRef,
    authScopes: { publish: true },
    description:
      'pg-boss upsert: edits the newest waiting job (created or retry) whose singletonKey is `key`, or sends one with that key ' +
      '(the queue, with defaults, on first use). jobEvents reports UPDATED or CREATED.',
    args: { queue: t.arg.string({ required: true }), key: t.arg.string({ required: true }), data: dataArg(t), options: t.arg({ type: JobEditInput }) },
    resolve: (_root, args, { edits }) => edits.upsert(args.queue, args.key, args.data, withoutNulls(args.options)),
  }),
}));
