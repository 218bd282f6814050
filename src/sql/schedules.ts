import type { QuotedIdentifier } from './identifiers.ts';
import type { SqlPlan } from './plan.ts';

/** The queues (`name`) starting with `prefix` that have a schedule, by name. */
export const scheduledQueues = (schema: QuotedIdentifier, prefix: string): SqlPlan => ({
  text: `SELECT DISTINCT name FROM ${schema}.schedule WHERE starts_with(name, $1) ORDER BY name`,
  values: [prefix],
});
