import type { QuotedIdentifier } from './identifiers.ts';
import { countColumns } from './job-counts.ts';
import type { SqlPlan } from './plan.ts';

/** Columns of pg-boss's queue table under `q`, aliased to the keys of a queue row (src/tenant/queue-record.ts). */
export const QUEUE_COLUMNS = `q.name, q.policy, q.dead_letter AS "deadLetter", q.retry_limit AS "retryLimit",
  q.retry_delay AS "retryDelay", q.retry_backoff AS "retryBackoff", q.retry_delay_max AS "retryDelayMax",
  q.expire_seconds AS "expireInSeconds", q.retention_seconds AS "retentionSeconds",
  q.deletion_seconds AS "deleteAfterSeconds", q.heartbeat_seconds AS "heartbeatSeconds",
  q.partition, q.created_on AS "createdOn", q.updated_on AS "updatedOn"`;

const queueRows = (schema: QuotedIdentifier, where: string) => `SELECT ${QUEUE_COLUMNS}, ${countColumns('j')}
         FROM ${schema}.queue q
         LEFT JOIN ${schema}.job j ON j.name = q.name
        WHERE ${where}
        GROUP BY q.name
        ORDER BY q.name`;

/** The queues whose name starts with `prefix`, with their job counts, by name. */
export const queuesWithCounts = (schema: QuotedIdentifier, prefix: string): SqlPlan => ({
  text: queueRows(schema, 'starts_with(q.name, $1)'),
  values: [prefix],
});

/** One queue (qualified) with its job counts. */
export const queueWithCounts = (schema: QuotedIdentifier, qualified: string): SqlPlan => ({ text: queueRows(schema, 'q.name = $1'), values: [qualified] });

/** A row when the queue exists. */
export const queueExists = (schema: QuotedIdentifier, qualified: string): SqlPlan => ({
  text: `SELECT 1 FROM ${schema}.queue WHERE name = $1`,
  values: [qualified],
});

/** Of these queue names (qualified), those that exist (`name`). */
export const existingQueues = (schema: QuotedIdentifier, qualified: readonly string[]): SqlPlan => ({
  text: `SELECT name FROM ${schema}.queue WHERE name = ANY($1::text[])`,
  values: [qualified],
});

/** Whether the queue is partitioned (`partition`); no row for no such queue. */
export const queuePartition = (schema: QuotedIdentifier, qualified: string): SqlPlan => ({
  text: `SELECT partition FROM ${schema}.queue WHERE name = $1`,
  values: [qualified],
});

/** The queue's policy (`policy`); no row for no such queue. */
export const queuePolicy = (schema: QuotedIdentifier, qualified: string): SqlPlan => ({
  text: `SELECT policy FROM ${schema}.queue WHERE name = $1`,
  values: [qualified],
});
