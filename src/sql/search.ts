import type { QuotedIdentifier } from './identifiers.ts';
import { JOB_COLUMNS } from './jobs.ts';
import type { JobPageArguments } from './jobs.ts';
import type { SqlPlan } from './plan.ts';

export interface JobSearchArguments extends JobPageArguments {
  singletonKey: string | null;
  /** JSON text the job's data must contain (`@>`), or null. */
  data: string | null;
}

/** A page of the queue's jobs as `jobPage` gives it, of those that match pg-boss's findJobs filters. */
export const findJobs = (schema: QuotedIdentifier, search: JobSearchArguments): SqlPlan => ({
  text: `SELECT ${JOB_COLUMNS}, created_on::text AS cursor
         FROM ${schema}.job
        WHERE name = $1
          AND ($2::text IS NULL OR singleton_key = $2)
          AND ($3::text IS NULL OR data @> $3::text::jsonb)
          AND ($4::text[] IS NULL OR state::text = ANY($4))
          AND ($5::timestamptz IS NULL OR (created_on, id) < ($5::timestamptz, $6::uuid))
        ORDER BY created_on DESC, id DESC
        LIMIT $7`,
  values: [search.qualified, search.singletonKey, search.data, search.states, search.afterCreated, search.afterId, search.limit],
});
