import type { QuotedIdentifier } from './identifiers.ts';
import { integerLiteral } from './literals.ts';
import type { SqlPlan } from './plan.ts';

/** Columns of pg-boss's job table, aliased to the keys of a job row (src/tenant/job-record.ts). */
export const JOB_COLUMNS = `id, name, state, data, output, priority,
  retry_count AS "retryCount", retry_limit AS "retryLimit", retry_delay AS "retryDelay",
  retry_backoff AS "retryBackoff", retry_delay_max AS "retryDelayMax",
  expire_seconds AS "expireInSeconds", deletion_seconds AS "deleteAfterSeconds",
  singleton_key AS "singletonKey", singleton_on AS "singletonOn",
  group_id AS "groupId", group_tier AS "groupTier", dead_letter AS "deadLetter", policy,
  start_after AS "startAfter", created_on AS "createdOn", started_on AS "startedOn",
  completed_on AS "completedOn", keep_until AS "keepUntil",
  heartbeat_on AS "heartbeatOn", heartbeat_seconds AS "heartbeatSeconds",
  blocked, pending_dependencies AS "pendingDependencies"`;

/** A job by queue (qualified) and id. */
export const jobInQueue = (schema: QuotedIdentifier, qualified: string, id: string): SqlPlan => ({
  text: `SELECT ${JOB_COLUMNS} FROM ${schema}.job WHERE name = $1 AND id = $2`,
  values: [qualified, id],
});

/** A job by id in any queue whose name starts with `prefix`. */
export const jobInQueuesOf = (schema: QuotedIdentifier, id: string, prefix: string): SqlPlan => ({
  text: `SELECT ${JOB_COLUMNS} FROM ${schema}.job WHERE id = $1 AND starts_with(name, $2)`,
  values: [id, prefix],
});

export interface JobPageArguments {
  qualified: string;
  /** Null for every state. */
  states: readonly string[] | null;
  /** The cursor's position (created_on as text, id), or nulls from the start. */
  afterCreated: string | null;
  afterId: string | null;
  limit: number;
}

/** A queue's jobs newest first, after the cursor's position, each with its cursor (created_on as text). */
export const jobPage = (schema: QuotedIdentifier, page: JobPageArguments): SqlPlan => ({
  text: `SELECT ${JOB_COLUMNS}, created_on::text AS cursor
         FROM ${schema}.job
        WHERE name = $1
          AND ($2::text[] IS NULL OR state::text = ANY($2))
          AND ($3::timestamptz IS NULL OR (created_on, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_on DESC, id DESC
        LIMIT $5`,
  values: [page.qualified, page.states, page.afterCreated, page.afterId, page.limit],
});

/** Jobs by (queue, id) pairs, in no order. */
export const jobsByKey = (schema: QuotedIdentifier, keys: readonly { name: string; id: string }[]): SqlPlan => ({
  text: `SELECT ${JOB_COLUMNS} FROM ${schema}.job
        WHERE (name, id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))`,
  values: [keys.map((key) => key.name), keys.map((key) => key.id)],
});

/** Of `ids`, the jobs active in the queue, with their attempt (id, retryCount). */
export const activeAttempts = (schema: QuotedIdentifier, qualified: string, ids: readonly string[]): SqlPlan => ({
  text: `SELECT id, retry_count AS "retryCount" FROM ${schema}.job WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'`,
  values: [qualified, ids],
});

/** Ids of up to `limit` active jobs of the queue. */
export const activeJobIds = (schema: QuotedIdentifier, qualified: string, limit: number): SqlPlan => ({
  text: `SELECT id FROM ${schema}.job WHERE name = $1 AND state = 'active' LIMIT ${integerLiteral(limit)}`,
  values: [qualified],
});

/** When the queue's next deferred job becomes ready (`next`, null for none). */
export const nextStartAfter = (schema: QuotedIdentifier, qualified: string): SqlPlan => ({
  text: `SELECT min(start_after) AS next FROM ${schema}.job
        WHERE name = $1 AND state IN ('created', 'retry') AND start_after > now()`,
  values: [qualified],
});

/** The source queues (`name`) of the queue's waiting jobs that start with `prefix`, by name. */
export const redriveSources = (schema: QuotedIdentifier, qualified: string, prefix: string): SqlPlan => ({
  text: `SELECT DISTINCT source_name AS name FROM ${schema}.job
        WHERE name = $1 AND state IN ('created', 'retry') AND starts_with(source_name, $2) ORDER BY 1`,
  values: [qualified, prefix],
});
