import type { QuotedIdentifier } from './identifiers.ts';
import { escapeLiteral, intArray, textArray, uuidArray } from './literals.ts';
import type { SqlPlan } from './plan.ts';

/** One hold to record: the job, the attempt it was fetched at, who holds it. */
export interface LeaseGrantRow {
  id: string;
  retryCount: number;
  holder: string;
}

/** Records holds from `rows` (queue, job id, retry count, holder), moving any the jobs already had. */
const upsertLeases = (rows: string) => `INSERT INTO job_lease (queue, job_id, retry_count, holder)
   ${rows}
   ON CONFLICT (job_id, queue) DO UPDATE
     SET retry_count = excluded.retry_count, holder = excluded.holder, leased_at = now()`;

const GRANT_SQL = upsertLeases('SELECT $1, g.id, g.retry_count, g.holder FROM unnest($2::uuid[], $3::int[], $4::text[]) AS g(id, retry_count, holder)');

export const grantLeases = (queue: string, grants: readonly LeaseGrantRow[]): SqlPlan => ({
  text: GRANT_SQL,
  values: [queue, grants.map((g) => g.id), grants.map((g) => g.retryCount), grants.map((g) => g.holder)],
});

/**
 * The grant with its values written into the text, so that it can travel
 * with COMMIT in one simple-protocol message: one round trip, not two.
 */
export function inlineGrant(queue: string, grants: readonly LeaseGrantRow[]): string {
  const values = `${uuidArray(grants.map((g) => g.id))}, ${intArray(grants.map((g) => g.retryCount))}, ${textArray(grants.map((g) => g.holder))}`;
  return upsertLeases(`SELECT ${escapeLiteral(queue)}, g.id, g.retry_count, g.holder FROM unnest(${values}) AS g(id, retry_count, holder)`);
}

/**
 * The holds of a fetch numbered by fetchWithHolds (`numbered` yields job_id,
 * retry_count and n, from 1): the n-th job to `holders[n]`, values written in.
 */
export const upsertNumberedHolds = (queue: string, holders: readonly string[], numbered: string): string =>
  upsertLeases(`SELECT ${escapeLiteral(queue)}, job_id, retry_count, (${textArray(holders)})[n] FROM (${numbered}) AS held`);

/** A claim's commit does not wait for its WAL flush (see the constructor of `Leases`). */
export const ASYNC_COMMIT = 'SET LOCAL synchronous_commit TO off';

/** Claims of one queue one at a time, on every instance, until the transaction ends. */
export const claimLock = (queue: string): string => `SELECT pg_advisory_xact_lock(hashtextextended(${escapeLiteral(`jobgate claim ${queue}`)}, 0))`;

const LOCK_LEASES_SQL = `SELECT job_id AS id, holder, retry_count AS "retryCount", detached FROM job_lease
  WHERE job_id = ANY($2::uuid[]) AND queue = $1 FOR UPDATE`;

/** The leases of `ids`, locked until the transaction ends. */
export const lockLeases = (queue: string, ids: readonly string[]): SqlPlan => ({ text: LOCK_LEASES_SQL, values: [queue, ids] });

const DETACH_SQL = 'UPDATE job_lease SET detached = true WHERE queue = $1 AND job_id = ANY($2::uuid[]) AND NOT detached';

/** Marks holds used away from their connection, whose close then leaves them be. */
export const detachLeases = (queue: string, ids: readonly string[]): SqlPlan => ({ text: DETACH_SQL, values: [queue, ids] });

const DELETE_SQL = 'DELETE FROM job_lease WHERE queue = $1 AND job_id = ANY($2::uuid[])';

export const deleteLeases = (queue: string, ids: readonly string[]): SqlPlan => ({ text: DELETE_SQL, values: [queue, ids] });

/**
 * BEGIN, then the removal of `holder`'s leases of `ids` (but detached ones,
 * with `keepDetached`) returning their attempts (id, retryCount), values
 * written in: the two travel as one message.
 */
export const beginReleasingOwnLeases = (queue: string, holder: string, ids: readonly string[], keepDetached: boolean): string =>
  `BEGIN;
         DELETE FROM job_lease WHERE queue = ${escapeLiteral(queue)} AND job_id = ANY(${uuidArray(ids)}) AND holder = ${escapeLiteral(holder)}${keepDetached ? ' AND NOT detached' : ''}
         RETURNING job_id AS id, retry_count AS "retryCount"`;

/** Releases exactly these holds, or raises JG409 (see the function's migration), values written in. */
export const releaseHeldLeases = (queue: string, holder: string, attempts: readonly { id: string; retryCount: number }[]): string =>
  `SELECT release_held_leases(${escapeLiteral(queue)}, ${escapeLiteral(holder)}, ${uuidArray(attempts.map((a) => a.id))}, ${intArray(attempts.map((a) => a.retryCount))})`;

/** Removes the holds, but detached ones, of the connections of these instances; returns queue, id, retryCount. */
export const takeLeasesOfInstances = (instances: readonly string[]): SqlPlan => ({
  text: `DELETE FROM job_lease WHERE NOT detached AND split_part(holder, ':', 1) = ANY($1::text[])
         RETURNING queue, job_id AS id, retry_count AS "retryCount"`,
  values: [instances],
});

/** Removes `holder`'s holds, but detached ones, of `ids`; returns queue, id, retryCount. */
export const takeHeldLeases = (queue: string, holder: string, ids: readonly string[]): SqlPlan => ({
  text: `DELETE FROM job_lease WHERE queue = $1 AND job_id = ANY($2::uuid[]) AND holder = $3 AND NOT detached
         RETURNING queue, job_id AS id, retry_count AS "retryCount"`,
  values: [queue, ids, holder],
});

/**
 * Of these queues, those with a job waiting and due: more than pg-boss's fetch
 * would take (it also weighs dependencies, groups and policies), never less.
 */
export const queuesWithDueJobs = (schema: QuotedIdentifier, names: readonly string[]): SqlPlan => ({
  text: `SELECT q.name FROM unnest($1::text[]) AS q(name)
         WHERE EXISTS (SELECT 1 FROM ${schema}.job j WHERE j.name = q.name AND j.state < 'active' AND j.start_after <= ${schema}.job_now())`,
  values: [names],
});

/** Of these holds, those recorded as given whose job is active in that attempt (queue, id). */
export const liveHolds = (schema: QuotedIdentifier, holds: readonly (LeaseGrantRow & { queue: string })[]): SqlPlan => ({
  text: `SELECT h.queue, h.id
         FROM unnest($1::text[], $2::uuid[], $3::int[], $4::text[]) AS h(queue, id, retry_count, holder)
         JOIN job_lease l ON l.job_id = h.id AND l.queue = h.queue AND l.holder = h.holder AND l.retry_count = h.retry_count
         JOIN ${schema}.job j ON j.name = h.queue AND j.id = h.id AND j.state = 'active' AND j.retry_count = h.retry_count`,
  values: [holds.map((h) => h.queue), holds.map((h) => h.id), holds.map((h) => h.retryCount), holds.map((h) => h.holder)],
});

/** Drops holds older than a minute whose job is no longer active in the leased attempt. */
export const purgeStaleLeases = (schema: QuotedIdentifier): string =>
  `DELETE FROM job_lease l
        WHERE l.leased_at < now() - interval '1 minute'
          AND NOT EXISTS (
            SELECT 1 FROM ${schema}.job j
             WHERE j.name = l.queue AND j.id = l.job_id AND j.state = 'active' AND j.retry_count = l.retry_count)`;
