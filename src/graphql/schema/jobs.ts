import { JOB_STATES, SentJob, type JobRecord, type JobSource } from '../../tenant/job-record.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type JobPage } from '../../tenant/jobs.ts';
import { builder, type InputFields } from '../builder.ts';
import { withoutNulls } from '../inputs.ts';

/** A job's data or output may be up to JOBGATE_MAX_JOB_DATA_BYTES: each costs more than a scalar. */
const PAYLOAD_COST = 3;

export const JobStateEnum = builder.enumType('JobState', {
  values: Object.fromEntries(JOB_STATES.map((state) => [state.toUpperCase(), { value: state }])),
});

/** A field of the job's row: at once for a job read from PostgreSQL, after the one read of a job just sent. */
export function fromRow<K extends keyof JobRecord>(key: K): (job: JobSource) => JobRecord[K] | Promise<JobRecord[K]> {
  return (job) => (job instanceof SentJob ? job.record().then((record) => record[key]) : job[key]);
}

export const JobRef = builder.objectRef<JobSource>('Job').implement({
  description: "A job in one of the tenant's queues.",
  fields: (t) => ({
    id: t.exposeID('id'),
    queue: t.exposeString('queue'),
    state: t.field({ type: JobStateEnum, resolve: (job) => job.state }),
    data: t.field({ type: 'JSON', nullable: true, complexity: PAYLOAD_COST, resolve: fromRow('data') }),
    output: t.field({
      type: 'JSON',
      nullable: true,
      complexity: PAYLOAD_COST,
      description: 'What the job completed with, or its failure.',
      resolve: fromRow('output'),
    }),
    error: t.field({
      type: 'JSON',
      nullable: true,
      complexity: PAYLOAD_COST,
      description: "Why its last attempt failed (the failJob error, or pg-boss's own on expiry) while the job is FAILED or waiting to RETRY; null otherwise.",
      resolve: (job) => (job.state === 'failed' || job.state === 'retry' ? fromRow('output')(job) : null),
    }),
    priority: t.int({ resolve: fromRow('priority') }),
    retryCount: t.int({ resolve: fromRow('retryCount') }),
    retryLimit: t.int({ resolve: fromRow('retryLimit') }),
    retryDelay: t.int({ resolve: fromRow('retryDelay') }),
    retryBackoff: t.boolean({ resolve: fromRow('retryBackoff') }),
    retryDelayMax: t.int({ nullable: true, resolve: fromRow('retryDelayMax') }),
    expireInSeconds: t.int({ resolve: fromRow('expireInSeconds') }),
    deleteAfterSeconds: t.int({ resolve: fromRow('deleteAfterSeconds') }),
    heartbeatSeconds: t.int({ nullable: true, resolve: fromRow('heartbeatSeconds') }),
    singletonKey: t.string({ nullable: true, resolve: fromRow('singletonKey') }),
    groupId: t.string({ nullable: true, resolve: fromRow('groupId') }),
    groupTier: t.string({ nullable: true, resolve: fromRow('groupTier') }),
    deadLetter: t.string({ nullable: true, resolve: fromRow('deadLetter') }),
    policy: t.string({ nullable: true, resolve: fromRow('policy') }),
    startAfter: t.field({ type: 'DateTime', resolve: fromRow('startAfter') }),
    createdOn: t.field({ type: 'DateTime', resolve: fromRow('createdOn') }),
    startedOn: t.field({ type: 'DateTime', nullable: true, resolve: fromRow('startedOn') }),
    completedOn: t.field({ type: 'DateTime', nullable: true, resolve: fromRow('completedOn') }),
    keepUntil: t.field({ type: 'DateTime', resolve: fromRow('keepUntil') }),
    heartbeatOn: t.field({ type: 'DateTime', nullable: true, resolve: fromRow('heartbeatOn') }),
    lease: t.string({
      nullable: true,
      description:
        'For the worker connection a job was pushed to, and only for it: a token for this attempt with which any connection or HTTP ' +
        'request of the tenant with WORK may settle the job (completeJob, failJob, touchJob, reportProgress). Keep it secret; never log it.',
      resolve: (job, _args, { settlements }) => (job instanceof SentJob ? null : settlements.leaseFor(job)),
    }),
    progress: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The latest progress its holder reported (reportProgress), or null.',
      resolve: (job, _args, { settlements }) => settlements.progressOf(job.queue, job.id),
    }),
  }),
});

export const PageInfoRef = builder.objectRef<{ endCursor: string | null; hasNextPage: boolean }>('PageInfo').implement({
  fields: (t) => ({
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for the next page.' }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
  }),
});

export const JobPageRef = builder.objectRef<JobPage>('JobPage').implement({
  fields: (t) => ({
    // The page's size is counted on `jobs` (its `first`).
    nodes: t.field({ type: [JobRef], complexity: { field: 1, multiplier: 1 }, resolve: (page) => page.nodes }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (page) => page }),
  }),
});

/** Send options, shared by JobOptionsInput and ScheduleOptionsInput. */
export const jobOptionFields = (t: InputFields) => ({
  id: t.id({ description: 'A UUID chosen by the client (idempotent sends).' }),
  priority: t.int({ description: 'Higher runs first.' }),
  startAfter: t.field({ type: 'DateTime', description: 'Not before this time.' }),
  delaySeconds: t.int({ description: 'Not before this many seconds from now.' }),
  retryLimit: t.int(),
  retryDelay: t.int({ description: 'Seconds between retries.' }),
  retryBackoff: t.boolean({ description: 'Exponential back-off between retries.' }),
  retryDelayMax: t.int({ description: 'Upper bound of the back-off, in seconds.' }),
  expireInSeconds: t.int({ description: 'How long the job may stay active.' }),
  heartbeatSeconds: t.int({ description: 'Fail the job when no heartbeat arrives for this long (≥ 10).' }),
  singletonKey: t.string({ description: 'At most one queued job per key (with the queue policy or a time window).' }),
  singletonSeconds: t.int({ description: 'At most one job per key in each window of this many seconds.' }),
  singletonNextSlot: t.boolean({ description: 'When the window is taken, queue for the next one instead of dropping.' }),
  throttleSeconds: t.int({ description: 'Throttle: at most one job per window; extra sends return null.' }),
  debounceSeconds: t.int({ description: 'Debounce: extra sends in a window move to the next window.' }),
  deadLetter: t.string({ description: 'Queue that receives the job once its retries are exhausted.' }),
  retentionSeconds: t.int({ description: 'How long the job may wait in the queue before it is deleted.' }),
  deleteAfterSeconds: t.int({ description: 'How long the job is kept after it completes.' }),
  groupId: t.string({ description: 'Fairness group.' }),
  groupTier: t.string(),
});

export const JobOptionsInput = builder.inputType('JobOptionsInput', {
  description: 'Per-job options; omitted ones come from the queue.',
  fields: jobOptionFields,
});

export const JobInputRef = builder.inputType('JobInput', {
  fields: (t) => ({
    // Nullable so that null is refused by the queue layer with BAD_USER_INPUT, like any other non-object.
    data: t.field({ type: 'JSON', description: 'A JSON object or array (anything else, null included, is BAD_USER_INPUT).' }),
    options: t.field({ type: JobOptionsInput }),
  }),
});

const DeletedJobRef = builder.objectRef<{ id: string; queue: string }>('DeletedJob').implement({
  description: 'A job just deleted: what a client cache needs to evict it.',
  fields: (t) => ({ id: t.exposeID('id'), queue: t.exposeString('queue') }),
});

const JobCommandResultRef = builder.objectRef<{ requested: number; affected: number }>('JobCommandResult').implement({
  description: 'Outcome of a batch command: ids that do not name a job of the queue in a fitting state are not affected.',
  fields: (t) => ({ requested: t.exposeInt('requested'), affected: t.exposeInt('affected') }),
});

builder.queryFields((t) => ({
  job: t.field({
    type: JobRef,
    nullable: true,
    authScopes: { read: true },
    description: 'One job, or null when the queue holds no such job.',
    args: { queue: t.arg.string({ required: true }), id: t.arg.id({ required: true }) },
    resolve: (_root, args, { jobs }) => jobs.getJob(args.queue, String(args.id)),
  }),
  jobs: t.field({
    type: JobPageRef,
    authScopes: { read: true },
    // A size out of range is refused by the resolver, with its own message.
    complexity: (args) => ({ field: 1, multiplier: Math.min(Math.max(args.first ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE) }),
    description: 'A page of jobs, newest first.',
    args: {
      queue: t.arg.string({ required: true }),
      states: t.arg({ type: [JobStateEnum] }),
      first: t.arg.int({ description: '1-500, default 50.' }),
      after: t.arg.string({ description: 'The `endCursor` of the previous page.' }),
    },
    resolve: (_root, args, { jobs }) =>
      jobs.listJobs(args.queue, { states: args.states ?? undefined, first: args.first ?? undefined, after: args.after ?? undefined }),
  }),
}));

const queueAndId = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) => ({
  queue: t.arg.string({ required: true }),
  id: t.arg.id({ required: true }),
});
const leaseArg = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) =>
  t.arg.string({ description: "The job's lease (`Job.lease` of the pushed job): then any connection or request with WORK may settle it." });
/** A batch command costs one per id. */
const perId = (args: { ids: readonly unknown[] }) => Math.max(1, args.ids.length);
const queueAndIds = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) => ({
  queue: t.arg.string({ required: true }),
  ids: t.arg.idList({ required: true }),
});

builder.mutationFields((t) => ({
  sendJob: t.field({
    type: JobRef,
    nullable: true,
    authScopes: { publish: true },
    description: 'Creates a job (and the queue, with defaults, on first use). Null when a singleton, throttle or debounce rule suppressed it.',
    args: {
      queue: t.arg.string({ required: true }),
      data: t.arg({ type: 'JSON', description: 'A JSON object or array (anything else, null included, is BAD_USER_INPUT).' }),
      options: t.arg({ type: JobOptionsInput }),
    },
    resolve: (_root, args, { sends }) => sends.sendJob(args.queue, args.data, withoutNulls(args.options)),
  }),
  sendJobs: t.field({
    type: ['ID'],
    authScopes: { publish: true },
    complexity: (args) => Math.max(1, args.jobs.length),
    description: 'Inserts a batch into one queue in one round trip; returns the ids in input order (jobs suppressed by a singleton rule are left out).',
    args: { queue: t.arg.string({ required: true }), jobs: t.arg({ type: [JobInputRef], required: true }) },
    resolve: (_root, args, { sends }) =>
      sends.sendJobs(
        args.queue,
        args.jobs.map((job) => ({ data: job.data, options: withoutNulls(job.options) })),
      ),
  }),
  cancelJob: t.field({
    type: JobRef,
    authScopes: { publish: true },
    args: queueAndId(t),
    resolve: (_r, a, { settlements }) => settlements.commandOne('cancel', a.queue, String(a.id)),
  }),
  resumeJob: t.field({
    type: JobRef,
    authScopes: { publish: true },
    description: 'Puts a cancelled job back in the queue.',
    args: queueAndId(t),
    resolve: (_r, a, { settlements }) => settlements.commandOne('resume', a.queue, String(a.id)),
  }),
  retryJob: t.field({
    type: JobRef,
    authScopes: { publish: true },
    description: 'Queues a failed job again.',
    args: queueAndId(t),
    resolve: (_r, a, { settlements }) => settlements.commandOne('retry', a.queue, String(a.id)),
  }),
  deleteJob: t.boolean({
    authScopes: { publish: true },
    args: queueAndId(t),
    resolve: (_r, a, { settlements }) => settlements.deleteOne(a.queue, String(a.id)),
  }),
  removeJob: t.field({
    type: DeletedJobRef,
    authScopes: { publish: true },
    description: "deleteJob that returns the deleted job's identity (NOT_FOUND when there is none).",
    args: queueAndId(t),
    resolve: async (_r, a, { settlements }) => {
      await settlements.deleteOne(a.queue, String(a.id));
      return { id: String(a.id), queue: a.queue };
    },
  }),
  cancelJobs: t.field({
    type: JobCommandResultRef,
    authScopes: { publish: true },
    complexity: perId,
    args: queueAndIds(t),
    resolve: (_r, a, { settlements }) => settlements.command('cancel', a.queue, a.ids.map(String)),
  }),
  resumeJobs: t.field({
    type: JobCommandResultRef,
    authScopes: { publish: true },
    complexity: perId,
    args: queueAndIds(t),
    resolve: (_r, a, { settlements }) => settlements.command('resume', a.queue, a.ids.map(String)),
  }),
  retryJobs: t.field({
    type: JobCommandResultRef,
    authScopes: { publish: true },
    complexity: perId,
    args: queueAndIds(t),
    resolve: (_r, a, { settlements }) => settlements.command('retry', a.queue, a.ids.map(String)),
  }),
  deleteJobs: t.field({
    type: JobCommandResultRef,
    authScopes: { publish: true },
    complexity: perId,
    args: queueAndIds(t),
    resolve: (_r, a, { settlements }) => settlements.command('delete', a.queue, a.ids.map(String)),
  }),
  completeJob: t.field({
    type: JobRef,
    authScopes: { work: true },
    args: { ...queueAndId(t), output: t.arg({ type: 'JSON' }), lease: leaseArg(t) },
    resolve: (_r, a, { settlements }) => settlements.commandOne('complete', a.queue, String(a.id), a.output, a.lease),
  }),
  completeJobs: t.field({
    type: JobCommandResultRef,
    authScopes: { work: true },
    complexity: perId,
    args: {
      ...queueAndIds(t),
      output: t.arg({ type: 'JSON' }),
      lease: t.arg.stringList({ description: "The jobs' leases, one per id in the same order: then any connection or request with WORK may settle them." }),
    },
    resolve: (_r, a, { settlements }) => settlements.command('complete', a.queue, a.ids.map(String), a.output, a.lease ?? undefined),
  }),
  failJob: t.field({
    type: JobRef,
    authScopes: { work: true },
    description: 'Fails an active job; it is retried while its retry limit allows.',
    args: { ...queueAndId(t), error: t.arg({ type: 'JSON', description: 'A JSON object or array, or a message string.' }), lease: leaseArg(t) },
    resolve: (_r, a, { settlements }) => settlements.commandOne('fail', a.queue, String(a.id), a.error, a.lease),
  }),
  touchJob: t.field({
    type: JobRef,
    authScopes: { work: true },
    description: 'Heartbeat of an active job (queues with heartbeatSeconds fail jobs whose heartbeat stops); it does not extend expireInSeconds.',
    args: { ...queueAndId(t), lease: leaseArg(t) },
    resolve: (_r, a, { settlements }) => settlements.commandOne('touch', a.queue, String(a.id), undefined, a.lease),
  }),
  reportProgress: t.field({
    type: JobRef,
    authScopes: { work: true },
    description:
      "Records an active job's progress (any JSON value up to JOBGATE_MAX_PROGRESS_BYTES): `Job.progress` reads the latest and jobEvents " +
      "subscribers get a PROGRESS event. Only the job's holder, or its lease, for a pushed job (CONFLICT otherwise).",
    args: { ...queueAndId(t), progress: t.arg({ type: 'JSON', required: true }), lease: leaseArg(t) },
    resolve: (_r, a, { settlements }) => settlements.reportProgress(a.queue, String(a.id), a.progress, a.lease),
  }),
}));
