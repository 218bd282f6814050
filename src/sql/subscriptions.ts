import type { QuotedIdentifier } from './identifiers.ts';
import type { SqlPlan } from './plan.ts';

/** The queues (`name`) starting with `prefix` subscribed to the topic, by name. */
export const subscribedQueues = (schema: QuotedIdentifier, topic: string, prefix: string): SqlPlan => ({
  text: `SELECT name FROM ${schema}.subscription WHERE event = $1 AND starts_with(name, $2) ORDER BY name`,
  values: [topic, prefix],
});

/** Topics starting with `prefix` (`event`) with their subscribed queues of the same prefix (`queues`), by topic. */
export const topicsWithQueues = (schema: QuotedIdentifier, prefix: string): SqlPlan => ({
  text: `SELECT event, array_agg(name ORDER BY name) AS queues FROM ${schema}.subscription
        WHERE starts_with(event, $1) AND starts_with(name, $1)
        GROUP BY event ORDER BY event`,
  values: [prefix],
});
