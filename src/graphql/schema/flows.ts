import { DEFAULT_DEPENDENCY_PAGE, type FlowJobCreated } from '../../tenant/flows.ts';
import { builder } from '../builder.ts';
import { withoutNulls } from '../inputs.ts';
import { fromRow, JobOptionsInput, JobRef } from './jobs.ts';

const FlowJobInputRef = builder.inputType('FlowJobInput', {
  description: 'One job of a flow (sendFlow).',
  fields: (t) => ({
    ref: t.string({ required: true, description: 'Names the job within the flow (1-255 characters), for `dependsOn` and the answer.' }),
    queue: t.string({ required: true }),
    data: t.field({ type: 'JSON', description: 'A JSON object or array (anything else, null included, is BAD_USER_INPUT).' }),
    options: t.field({ type: JobOptionsInput, description: 'As for sendJob, without debounceSeconds and singletonNextSlot.' }),
    dependsOn: t.stringList({ description: 'Refs of jobs of the same flow that must complete before this one may start.' }),
  }),
});

const FlowJobRefType = builder.objectRef<FlowJobCreated>('FlowJobRef').implement({
  description: 'A job sendFlow created, by its ref.',
  fields: (t) => ({
    ref: t.exposeString('ref'),
    id: t.exposeID('id'),
    queue: t.exposeString('queue'),
    job: t.field({ type: JobRef, resolve: (created) => created.job }),
  }),
});

const relatedArgs = (t: Parameters<Parameters<typeof builder.objectFields<typeof JobRef>>[1]>[0]) => ({
  first: t.arg.int({ description: `1-500, default ${DEFAULT_DEPENDENCY_PAGE}.` }),
});
const relatedCost = (args: { first?: number | null }) => ({ field: 1, multiplier: Math.min(Math.max(args.first ?? DEFAULT_DEPENDENCY_PAGE, 1), 500) });

builder.objectFields(JobRef, (t) => ({
  blocked: t.boolean({
    description: 'Waits for the jobs it depends on (sendFlow): it is not fetched until all of them have completed.',
    resolve: fromRow('blocked'),
  }),
  pendingDependencies: t.int({ description: 'How many of the jobs it depends on have not completed yet.', resolve: fromRow('pendingDependencies') }),
  dependencies: t.field({
    type: [JobRef],
    description: "The jobs this one waits for (its flow's `dependsOn`), in their current states.",
    args: relatedArgs(t),
    complexity: relatedCost,
    resolve: (job, args, { flows }) => flows.related(job, 'parents', args.first ?? undefined),
  }),
  dependents: t.field({
    type: [JobRef],
    description: 'The jobs that wait for this one, in their current states.',
    args: relatedArgs(t),
    complexity: relatedCost,
    resolve: (job, args, { flows }) => flows.related(job, 'children', args.first ?? undefined),
  }),
}));

builder.mutationField('sendFlow', (t) =>
  t.field({
    type: [FlowJobRefType],
    authScopes: { publish: true },
    complexity: (args) => ({ field: Math.max(1, args.jobs.length), multiplier: Math.max(1, args.jobs.length) }),
    description:
      'Creates jobs that depend on each other (pg-boss flows) in one transaction, their queues with defaults on first use: a job waits ' +
      '(`blocked`) until every job it depends on has completed, then jobEvents reports READY. At least 2 and at most JOBGATE_MAX_BATCH_SIZE jobs; ' +
      'a `dependsOn` that names no ref of the flow, or a cycle, is BAD_USER_INPUT. Returns the ids by ref, in input order.',
    args: { jobs: t.arg({ type: [FlowJobInputRef], required: true }) },
    resolve: (_root, args, { flows }) =>
      flows.send(
        args.jobs.map((job) => ({ ref: job.ref, queue: job.queue, data: job.data, options: withoutNulls(job.options), dependsOn: job.dependsOn ?? undefined })),
      ),
  }),
);
