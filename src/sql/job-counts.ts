/**
 * Live counts from the job table under `alias` (pg-boss's own queue counters
 * are snapshots refreshed by its monitor). Queued includes deferred jobs, as in pg-boss.
 */
export function countColumns(alias: string): string {
  const j = alias;
  return `
  count(*) FILTER (WHERE ${j}.state IN ('created', 'retry'))::int AS "queuedCount",
  count(*) FILTER (WHERE ${j}.state IN ('created', 'retry') AND ${j}.start_after > now())::int AS "deferredCount",
  count(*) FILTER (WHERE ${j}.state = 'active')::int AS "activeCount",
  count(*) FILTER (WHERE ${j}.state = 'completed')::int AS "completedCount",
  count(*) FILTER (WHERE ${j}.state = 'failed')::int AS "failedCount",
  count(*) FILTER (WHERE ${j}.state = 'cancelled')::int AS "cancelledCount",
  count(${j}.id)::int AS "totalCount"`;
}
