import type { QuotedIdentifier } from './identifiers.ts';
import type { SqlPlan } from './plan.ts';

/** How many queues start with `prefix` (`queues`), and whether `qualified` is one of them (`present`). */
export const queueCap = (schema: QuotedIdentifier, prefix: string, qualified: string): SqlPlan => ({
  text: `SELECT count(*)::int AS queues, coalesce(bool_or(name = $2), false) AS present FROM ${schema}.queue WHERE starts_with(name, $1)`,
  values: [prefix, qualified],
});

/** How many schedules have a queue starting with `prefix` (`schedules`), and whether the queue's `key` is one (`present`). */
export const scheduleCap = (schema: QuotedIdentifier, prefix: string, qualified: string, key: string): SqlPlan => ({
  text: `SELECT count(*)::int AS schedules, coalesce(bool_or(name = $2 AND key = $3), false) AS present FROM ${schema}.schedule WHERE starts_with(name, $1)`,
  values: [prefix, qualified, key],
});
