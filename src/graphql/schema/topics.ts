import type { TopicRecord } from '../../tenant/topics.ts';
import { builder } from '../builder.ts';
import { withoutNulls } from '../inputs.ts';
import { JobOptionsInput, JobRef } from './jobs.ts';

const TopicRef = builder.objectRef<TopicRecord>('Topic').implement({
  description: 'A topic of the tenant (pg-boss publish/subscribe): publish sends one job into each of its queues.',
  fields: (t) => ({
    name: t.exposeString('name'),
    queues: t.exposeStringList('queues', { description: 'The queues subscribed to it, by name.' }),
  }),
});

const topicAndQueue = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) => ({
  topic: t.arg.string({ required: true, description: "A name of the tenant's, with the rules of queue names." }),
  queue: t.arg.string({ required: true }),
});

builder.queryField('topics', (t) =>
  t.field({
    type: [TopicRef],
    authScopes: { read: true },
    // Like queues: each selected field is counted as if for 50 topics.
    complexity: { field: 1, multiplier: 50 },
    description: "The tenant's topics that have subscribed queues, by name.",
    resolve: (_root, _args, { topics }) => topics.list(),
  }),
);

builder.mutationFields((t) => ({
  subscribeQueue: t.field({
    type: TopicRef,
    authScopes: { publish: true },
    description: 'Subscribes an existing queue to a topic (NOT_FOUND for a queue that does not exist); again changes nothing.',
    args: topicAndQueue(t),
    resolve: (_root, args, { topics }) => topics.subscribe(args.topic, args.queue),
  }),
  unsubscribeQueue: t.field({
    type: TopicRef,
    authScopes: { publish: true },
    description: 'Ends a subscription; NOT_FOUND when the queue is not subscribed to the topic.',
    args: topicAndQueue(t),
    resolve: (_root, args, { topics }) => topics.unsubscribe(args.topic, args.queue),
  }),
  publish: t.field({
    type: [JobRef],
    authScopes: { publish: true },
    // One job per subscribed queue: counted like a list of 50.
    complexity: { field: 1, multiplier: 50 },
    description:
      "Sends one job into each queue subscribed to the topic, as sendJob would (the queue's options, then `options`): the jobs created; " +
      'none when no queue is subscribed, and those a singleton rule suppressed are left out.',
    args: {
      topic: t.arg.string({ required: true }),
      data: t.arg({ type: 'JSON', description: 'A JSON object or array (anything else, null included, is BAD_USER_INPUT).' }),
      options: t.arg({ type: JobOptionsInput }),
    },
    resolve: (_root, args, { topics }) => topics.publish(args.topic, args.data, withoutNulls(args.options)),
  }),
}));
