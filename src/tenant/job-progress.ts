import type { Db } from 'pg-boss';
import { JOB_EVENTS_CHANNEL } from '../sql/job-events.ts';

/**
 * Stores the progress of a job active at the given attempt and sends it as a
 * PROGRESS line on the job-event channel, in one statement; no row comes back
 * when the job is not active at that attempt. `schema`: pg-boss's, quoted.
 * Parameters: qualified queue, job id, attempt, progress (JSON text).
 */
export const reportProgressSql = (schema: string) => `WITH job AS (
    SELECT id FROM ${schema}.job WHERE name = $1 AND id = $2 AND state = 'active' AND retry_count = $3
  ),
  saved AS (
    INSERT INTO job_progress (queue, job_id, progress)
    SELECT $1, id, $4::jsonb FROM job
    ON CONFLICT (job_id, queue) DO UPDATE SET progress = excluded.progress, reported_at = now()
    RETURNING job_id, progress
  )
  SELECT pg_notify('${JOB_EVENTS_CHANNEL}', concat_ws(E'\\t', 'P', 'active', $1, job_id::text, $3::text, progress::text)) FROM saved`;

export async function readProgress(db: Db, qualified: string, id: string): Promise<unknown> {
  const { rows } = await db.executeSql('SELECT progress FROM job_progress WHERE queue = $1 AND job_id = $2', [qualified, id]);
  return (rows[0] as { progress: unknown } | undefined)?.progress ?? null;
}

/** Drops the progress of jobs pg-boss no longer keeps. */
export async function purgeOrphanedProgress(db: Db, quotedSchema: string): Promise<number> {
  const { rowCount } = (await db.executeSql(
    `DELETE FROM job_progress p WHERE NOT EXISTS (SELECT 1 FROM ${quotedSchema}.job j WHERE j.name = p.queue AND j.id = p.job_id)`,
  )) as { rowCount?: number | null };
  return rowCount ?? 0;
}
