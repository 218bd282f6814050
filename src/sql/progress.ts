import type { QuotedIdentifier } from './identifiers.ts';
import { JOB_EVENTS_CHANNEL } from './job-events.ts';
import type { SqlPlan } from './plan.ts';

const reportProgressSql = (schema: QuotedIdentifier) => `WITH job AS (
    SELECT id FROM ${schema}.job WHERE name = $1 AND id = $2 AND state = 'active' AND retry_count = $3
  ),
  saved AS (
    INSERT INTO job_progress (queue, job_id, progress)
    SELECT $1, id, $4::jsonb FROM job
    ON CONFLICT (job_id, queue) DO UPDATE SET progress = excluded.progress, reported_at = now()
    RETURNING job_id, progress
  ),
  logged AS (
    INSERT INTO job_event (tx, seq, xid, at, op, state, queue, job_id, retry_count, progress)
    SELECT jobgate.job_event_tx(), nextval('job_event_seq'), pg_current_xact_id(), statement_timestamp(), 'P', 'active', $1, job_id, $3, progress FROM saved
    RETURNING tx, seq, job_id, progress
  )
  SELECT pg_notify('${JOB_EVENTS_CHANNEL}', concat_ws(E'\\t', 'P', 'active', $1, job_id::text, $3::text, progress::text, tx, seq)) FROM logged`;

/**
 * Stores the progress (JSON text) of a job active at the given attempt, logs
 * it as a PROGRESS event and sends it as a P line on the job-event channel,
 * in one statement; no row comes back when the job is not active at that attempt.
 */
export const reportProgress = (schema: QuotedIdentifier, qualified: string, id: string, retryCount: number, json: string): SqlPlan => ({
  text: reportProgressSql(schema),
  values: [qualified, id, retryCount, json],
});

/** The job's last progress (`progress`); no row for none. */
export const readProgress = (qualified: string, id: string): SqlPlan => ({
  text: 'SELECT progress FROM job_progress WHERE queue = $1 AND job_id = $2',
  values: [qualified, id],
});

/** Drops the progress of jobs pg-boss no longer keeps. */
export const purgeOrphanedProgress = (schema: QuotedIdentifier): string =>
  `DELETE FROM job_progress p WHERE NOT EXISTS (SELECT 1 FROM ${schema}.job j WHERE j.name = p.queue AND j.id = p.job_id)`;
