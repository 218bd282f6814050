/**
 * pg-boss 12's `restore` (the job back to `created`, its start cleared, so the
 * next fetch does not count a retry), fenced to the attempt that was held,
 * which pg-boss's own has no way to say: $1 the queue, $2 job ids, $3 their
 * retry counts. Written against pg-boss's job table (pinned by
 * test/contract/pg-boss.test.ts). `schema` is quoted.
 */
export const restoreAttemptsSql = (schema: string) =>
  `UPDATE ${schema}.job j SET state = 'created', started_on = NULL, heartbeat_on = NULL, upsert_by_key = NULL
     FROM unnest($2::uuid[], $3::int[]) AS a(id, retry_count)
    WHERE j.name = $1 AND j.id = a.id AND j.state = 'active' AND j.retry_count = a.retry_count`;
