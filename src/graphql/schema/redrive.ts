import { DEFAULT_REDRIVE_LIMIT, MAX_REDRIVE_LIMIT, type RedriveInput, type RedrivePreviewView } from '../../tenant/redrive.ts';
import { builder, type Args } from '../builder.ts';
import { withoutNulls } from '../inputs.ts';

const RedriveOptionsInput = builder.inputType('RedriveOptionsInput', {
  description: 'Which jobs waiting in a dead letter queue a redrive is about, and where they go; previewRedrive takes the same.',
  fields: (t) => ({
    destination: t.string({ description: 'Send them all to this queue; by default each goes back to the queue it was dead-lettered from.' }),
    sourceQueue: t.string({ description: 'Only jobs dead-lettered from this queue.' }),
    data: t.field({ type: 'JSON', description: 'Only jobs whose data contains this JSON object.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Only jobs that arrived in the dead letter queue before this time.' }),
    ids: t.idList({ description: 'Only these jobs of the dead letter queue.' }),
    limit: t.int({
      description: `At most this many jobs, oldest first (1-${MAX_REDRIVE_LIMIT}, default ${DEFAULT_REDRIVE_LIMIT}); previewRedrive reads at most this many of each kind.`,
    }),
  }),
});

const RedriveDestinationRef = builder.objectRef<RedrivePreviewView['destinations'][number]>('RedriveDestination').implement({
  fields: (t) => ({ queue: t.exposeString('queue'), count: t.exposeInt('count') }),
});

const RedrivePreviewRef = builder.objectRef<RedrivePreviewView>('RedrivePreview').implement({
  description:
    'What redriveJobs would do with the same options: counts of the jobs read (at most `limit` of each kind: a count that reaches it means at least that many).',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Matching jobs, movable or not.' }),
    destinations: t.field({
      type: [RedriveDestinationRef],
      description: 'Where the movable ones would go, most first.',
      resolve: (preview) => preview.destinations,
    }),
    unroutable: t.exposeInt('unroutable', {
      description: 'Matching jobs a redrive would leave in place: no source queue and no destination, or a queue that no longer exists.',
    }),
  }),
});

const redriveArgs = (arg: Args) => ({
  queue: arg.string({ required: true, description: 'The dead letter queue.' }),
  options: arg({ type: RedriveOptionsInput }),
});

function redriveInput(options: Record<string, unknown> | null | undefined): RedriveInput {
  const { ids, ...rest } = withoutNulls(options ?? {}) as RedriveInput & { ids?: readonly (string | number)[] };
  return ids === undefined ? rest : { ...rest, ids: ids.map(String) };
}

builder.queryField('previewRedrive', (t) =>
  t.field({
    type: RedrivePreviewRef,
    authScopes: { read: true },
    description: 'What redriveJobs would move, by destination, and what it would leave in the dead letter queue. NOT_FOUND for a queue that does not exist.',
    args: redriveArgs(t.arg),
    resolve: (_root, args, { redrive }) => redrive.preview(args.queue, redriveInput(args.options)),
  }),
);

builder.mutationField('redriveJobs', (t) =>
  t.field({
    type: 'Int',
    authScopes: { publish: true },
    description:
      "pg-boss redrive: moves jobs waiting in a dead letter queue back, as new jobs with the destination queue's options, oldest first; " +
      'how many moved. A job that collides with one its destination holds (a singleton policy) is failed in place with the reason. ' +
      'NOT_FOUND for a queue that does not exist.',
    args: redriveArgs(t.arg),
    resolve: (_root, args, { redrive }) => redrive.redrive(args.queue, redriveInput(args.options)),
  }),
);
