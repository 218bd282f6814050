import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../tenant/job-cursor.ts';
import { DEFAULT_BLOCKED_KEYS, MAX_BLOCKED_KEYS } from '../../tenant/search.ts';
import { builder } from '../builder.ts';
import { JobPageRef, JobStateEnum } from './jobs.ts';

const between = (value: number | null | undefined, fallback: number, max: number) => Math.min(Math.max(value ?? fallback, 1), max);

builder.queryFields((t) => ({
  findJobs: t.field({
    type: JobPageRef,
    authScopes: { read: true },
    complexity: (args) => ({ field: 1, multiplier: between(args.first, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) }),
    description: 'Jobs of a queue that match every filter given (pg-boss findJobs), newest first, paged like `jobs`.',
    args: {
      queue: t.arg.string({ required: true }),
      singletonKey: t.arg.string({ description: 'Only jobs with this singleton key.' }),
      data: t.arg({ type: 'JSON', description: "Only jobs whose data contains this JSON object or array (PostgreSQL's @>)." }),
      states: t.arg({ type: [JobStateEnum] }),
      first: t.arg.int({ description: '1-500, default 50.' }),
      after: t.arg.string({ description: 'The `endCursor` of the previous page.' }),
    },
    resolve: (_root, args, { search }) =>
      search.findJobs(args.queue, {
        singletonKey: args.singletonKey ?? undefined,
        data: args.data ?? undefined,
        states: args.states ?? undefined,
        first: args.first ?? undefined,
        after: args.after ?? undefined,
      }),
  }),
  blockedKeys: t.field({
    type: ['String'],
    authScopes: { read: true },
    // A list of strings: one per ten keys asked for.
    complexity: (args) => Math.ceil(between(args.first, DEFAULT_BLOCKED_KEYS, MAX_BLOCKED_KEYS) / 10),
    description:
      'pg-boss getBlockedKeys: the singleton keys of a KEY_STRICT_FIFO queue whose head job failed, holding back the later jobs of the key ' +
      'until it is retried or deleted; by key. Empty for other policies; NOT_FOUND for a queue that does not exist.',
    args: {
      queue: t.arg.string({ required: true }),
      first: t.arg.int({ description: `1-${MAX_BLOCKED_KEYS}, default ${DEFAULT_BLOCKED_KEYS}.` }),
      after: t.arg.string({ description: 'The last key of the previous page.' }),
    },
    resolve: (_root, args, { search }) => search.blockedKeys(args.queue, args.first ?? undefined, args.after ?? undefined),
  }),
}));
