import type { QuotedIdentifier } from './identifiers.ts';
import type { SqlPlan } from './plan.ts';

/**
 * Per-interval throughput and depth of one queue (see src/stats/queue-history.ts):
 * `points` intervals of `intervalSeconds`, oldest first, the last one containing now.
 */
export const queueHistory = (schema: QuotedIdentifier, qualified: string, intervalSeconds: number, points: number): SqlPlan => ({
  text: `WITH bounds AS (
         SELECT make_interval(secs => $2) AS step,
                date_bin(make_interval(secs => $2), ${schema}.job_now(), timestamptz 'epoch') AS last_bucket,
                date_bin(make_interval(secs => $2), ${schema}.job_now(), timestamptz 'epoch') - ($3::int - 1) * make_interval(secs => $2) AS since
       ),
       jobs AS (
         SELECT j.state, j.created_on, j.completed_on,
                CASE WHEN j.state IN ('created', 'retry') THEN NULL ELSE j.started_on END AS started_on
           FROM ${schema}.job j, bounds b
          WHERE j.name = $1
            AND (j.state IN ('created', 'retry', 'active') OR j.created_on >= b.since OR j.completed_on >= b.since)
       ),
       moves AS (
         -- created: enters the queue
         SELECT created_on AS at, 1 AS created, 0 AS completed, 0 AS failed, 0 AS cancelled, 1 AS queued, 0 AS active
           FROM jobs
         UNION ALL
         -- leaves the queue: started, or finished without starting
         SELECT coalesce(started_on, completed_on), 0, 0, 0, 0, -1, CASE WHEN started_on IS NULL THEN 0 ELSE 1 END
           FROM jobs WHERE state NOT IN ('created', 'retry')
         UNION ALL
         -- finishes
         SELECT completed_on, 0, (state = 'completed')::int, (state = 'failed')::int, (state = 'cancelled')::int,
                0, CASE WHEN started_on IS NULL THEN 0 ELSE -1 END
           FROM jobs WHERE state IN ('completed', 'failed', 'cancelled')
       ),
       per_bucket AS (
         SELECT date_bin(b.step, m.at, timestamptz 'epoch') AS bucket,
                sum(m.created) AS created, sum(m.completed) AS completed, sum(m.failed) AS failed,
                sum(m.cancelled) AS cancelled, sum(m.queued) AS queued_delta, sum(m.active) AS active_delta
           FROM moves m, bounds b
          WHERE m.at >= b.since
          GROUP BY 1
       ),
       current AS (
         SELECT count(*) FILTER (WHERE state IN ('created', 'retry')) AS queued,
                count(*) FILTER (WHERE state = 'active') AS active
           FROM jobs
       ),
       buckets AS (
         SELECT generate_series(b.since, b.last_bucket, b.step) AS bucket FROM bounds b
       )
       SELECT k.bucket AS "at",
              coalesce(p.created, 0)::int AS "created",
              coalesce(p.completed, 0)::int AS "completed",
              coalesce(p.failed, 0)::int AS "failed",
              coalesce(p.cancelled, 0)::int AS "cancelled",
              greatest(c.queued - coalesce(sum(p.queued_delta) OVER later, 0), 0)::int AS "queued",
              greatest(c.active - coalesce(sum(p.active_delta) OVER later, 0), 0)::int AS "active"
         FROM buckets k
         LEFT JOIN per_bucket p USING (bucket)
         CROSS JOIN current c
       WINDOW later AS (ORDER BY k.bucket DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ORDER BY k.bucket`,
  values: [qualified, intervalSeconds, points],
});
