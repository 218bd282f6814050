import type { PgBoss } from 'pg-boss';
import { badInput } from '../errors.ts';
import { QueueNamespace } from '../tenant/names.ts';
import { quoteIdentifier } from '../sql/identifiers.ts';

/** One interval of a queue's recent history. */
export interface QueueHistoryPoint {
  /** Start of the interval. */
  at: Date;
  /** Jobs created in the interval. */
  created: number;
  /** Jobs that completed in the interval (and are still stored). */
  completed: number;
  /** Jobs that failed for good in the interval (retries exhausted). */
  failed: number;
  cancelled: number;
  /** Waiting jobs (created or retry, deferred included) at the end of the interval. */
  queued: number;
  /** Active jobs at the end of the interval. */
  active: number;
}

export interface QueueHistoryOptions {
  /** How far back, in minutes (1-1440). */
  minutes: number;
  /** Length of one interval in seconds (10-3600). */
  intervalSeconds: number;
}

export const MAX_HISTORY_MINUTES = 1440;
export const MAX_HISTORY_POINTS = 1440;

/**
 * Per-interval throughput and depth of one of a tenant's queues, computed
 * from the timestamps pg-boss keeps on each job row (created_on, started_on,
 * completed_on). Depth at the end of each interval is rewound from the
 * current counts, so one pass over the jobs touched in the window is enough
 * however many jobs wait in the queue. Jobs pg-boss has already removed
 * (retention, deletion) no longer count; a job waiting for a retry counts as
 * waiting since it was created.
 */
export class QueueHistory {
  readonly #boss: PgBoss;
  readonly #schema: string;
  readonly #names: QueueNamespace;

  constructor(boss: PgBoss, schema: string, tenantId: string) {
    this.#boss = boss;
    this.#schema = quoteIdentifier(schema);
    this.#names = new QueueNamespace(tenantId);
  }

  /** Oldest interval first; the last one contains now. All zeros for a queue that does not exist. */
  async load(queue: string, options: QueueHistoryOptions): Promise<QueueHistoryPoint[]> {
    const qualified = this.#names.qualify(queue);
    const { minutes, intervalSeconds } = options;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_HISTORY_MINUTES) {
      throw badInput(`"minutes" must be 1-${MAX_HISTORY_MINUTES}`, { argument: 'minutes' });
    }
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 10 || intervalSeconds > 3600) {
      throw badInput('"intervalSeconds" must be 10-3600', { argument: 'intervalSeconds' });
    }
    const points = Math.ceil((minutes * 60) / intervalSeconds);
    if (points > MAX_HISTORY_POINTS) {
      throw badInput(`at most ${MAX_HISTORY_POINTS} intervals; raise "intervalSeconds"`, { argument: 'intervalSeconds' });
    }
    const s = this.#schema;
    const { rows } = await this.#boss.getDb().executeSql(
      `WITH bounds AS (
         SELECT make_interval(secs => $2) AS step,
                date_bin(make_interval(secs => $2), ${s}.job_now(), timestamptz 'epoch') AS last_bucket,
                date_bin(make_interval(secs => $2), ${s}.job_now(), timestamptz 'epoch') - ($3::int - 1) * make_interval(secs => $2) AS since
       ),
       jobs AS (
         SELECT j.state, j.created_on, j.completed_on,
                CASE WHEN j.state IN ('created', 'retry') THEN NULL ELSE j.started_on END AS started_on
           FROM ${s}.job j, bounds b
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
      [qualified, intervalSeconds, points],
    );
    return (rows as QueueHistoryPoint[]).map((row) => ({ ...row, at: new Date(row.at) }));
  }
}
