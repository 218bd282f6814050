import type { SqlPlan } from './plan.ts';

/** Adds the instance's row, or brings back one another instance removed. */
export const registerInstance = (id: string, deadAfterSeconds: number): SqlPlan => ({
  text: `INSERT INTO gateway_instance (id, dead_after_seconds) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET seen_at = now(), dead_after_seconds = excluded.dead_after_seconds`,
  values: [id, deadAfterSeconds],
});

/** The heartbeat; no row updated when another instance found this one dead. */
export const beatInstance = (id: string): SqlPlan => ({ text: 'UPDATE gateway_instance SET seen_at = now() WHERE id = $1', values: [id] });

/** Marks the instance dead, so that others take back at once whatever it leaves held. */
export const markInstanceStopped = (id: string): SqlPlan => ({ text: "UPDATE gateway_instance SET seen_at = '-infinity' WHERE id = $1", values: [id] });

/** Removes the rows of instances other than `id` found dead, and their worker sessions; returns their ids. */
export const removeDeadInstances = (id: string): SqlPlan => ({
  text: `WITH dead AS (
         DELETE FROM gateway_instance WHERE id <> $1 AND seen_at < now() - dead_after_seconds * interval '1 second' RETURNING id
       ), sessions AS (
         DELETE FROM worker_session WHERE instance_id IN (SELECT id FROM dead)
       )
       SELECT id FROM dead`,
  values: [id],
});
