import type { QuotedIdentifier } from './identifiers.ts';
import { countColumns } from './job-counts.ts';

/**
 * Per tenant (the first path segment of queue names `<tenantId>/<name>`):
 * its queue count and its jobs' counts, by tenant.
 */
export const tenantTotals = (schema: QuotedIdentifier): string =>
  `WITH jobs AS (
       SELECT split_part(j.name, '/', 1) AS "tenantId", ${countColumns('j')}
         FROM ${schema}.job j WHERE position('/' IN j.name) > 0 GROUP BY 1
     ), queues AS (
       SELECT split_part(name, '/', 1) AS "tenantId", count(*)::int AS "queueCount"
         FROM ${schema}.queue WHERE position('/' IN name) > 0 GROUP BY 1
     )
     SELECT q."tenantId", q."queueCount", j."queuedCount", j."deferredCount", j."activeCount",
            j."completedCount", j."failedCount", j."cancelledCount", j."totalCount"
       FROM queues q LEFT JOIN jobs j USING ("tenantId")
      ORDER BY q."tenantId"`;
