import type { QuotedIdentifier } from './identifiers.ts';
import type { SqlPlan } from './plan.ts';

/** A session not refreshed for this long belongs to a gateway that is gone. */
const LIVE_WINDOW = "interval '90 seconds'";

export interface WorkerSessionInsert {
  id: string;
  tenantId: string;
  instanceId: string;
  holder: string;
  queues: readonly string[];
  concurrency: number;
}

export const registerWorkerSession = (session: WorkerSessionInsert): SqlPlan => ({
  text: `INSERT INTO worker_session (id, tenant_id, instance_id, holder, queues, concurrency) VALUES ($1, $2, $3, $4, $5, $6)`,
  values: [session.id, session.tenantId, session.instanceId, session.holder, session.queues, session.concurrency],
});

export const unregisterWorkerSession = (id: string): SqlPlan => ({ text: 'DELETE FROM worker_session WHERE id = $1', values: [id] });

export const refreshWorkerSessions = (ids: readonly string[]): SqlPlan => ({
  text: 'UPDATE worker_session SET seen_at = now() WHERE id = ANY($1)',
  values: [ids],
});

/** Sessions of gateways that stopped without unregistering. */
export const PURGE_STALE_WORKER_SESSIONS = `DELETE FROM worker_session WHERE seen_at < now() - ${LIVE_WINDOW}`;

/**
 * A tenant's live sessions with the jobs each holds right now (`inHand`).
 * `job_lease` has no index but its key (holds live for seconds), so its rows
 * are read once for all the workers, not once per worker.
 */
export const liveWorkerSessions = (schema: QuotedIdentifier, tenantId: string): SqlPlan => ({
  text: `WITH live AS (
         SELECT * FROM worker_session WHERE tenant_id = $1 AND seen_at > now() - ${LIVE_WINDOW}
       ), held AS (
         SELECT l.holder, l.queue, count(*) AS n
           FROM job_lease l JOIN ${schema}.job j
             ON j.name = l.queue AND j.id = l.job_id AND j.state = 'active' AND j.retry_count = l.retry_count
          WHERE l.holder IN (SELECT holder FROM live)
          GROUP BY l.holder, l.queue
       )
       SELECT w.id, w.queues, w.concurrency, w.connected_at AS "connectedAt", w.seen_at AS "seenAt",
              COALESCE((SELECT sum(h.n) FROM held h WHERE h.holder = w.holder AND h.queue = ANY(w.queues)), 0)::int AS "inHand"
         FROM live w
        ORDER BY w.connected_at, w.id`,
  values: [tenantId],
});
