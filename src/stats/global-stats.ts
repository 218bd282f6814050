import type { PgBoss } from 'pg-boss';
import type { QueueCounts } from '../tenant/queue-record.ts';
import { countColumns } from '../sql/job-counts.ts';
import { quoteIdentifier } from '../sql/identifiers.ts';

export interface TenantStats extends QueueCounts {
  tenantId: string;
  queueCount: number;
}

export interface GlobalStats extends QueueCounts {
  tenantCount: number;
  queueCount: number;
  tenants: TenantStats[];
}


/**
 * Cross-tenant totals for platform operators (ADMIN scope). Queue names are
 * `<tenantId>/<name>`, so the tenant is the first path segment.
 */
export async function loadGlobalStats(boss: PgBoss, schema: string): Promise<GlobalStats> {
  const s = quoteIdentifier(schema);
  const { rows } = await boss.getDb().executeSql(
    `WITH jobs AS (
       SELECT split_part(j.name, '/', 1) AS "tenantId", ${countColumns('j')}
         FROM ${s}.job j WHERE position('/' IN j.name) > 0 GROUP BY 1
     ), queues AS (
       SELECT split_part(name, '/', 1) AS "tenantId", count(*)::int AS "queueCount"
         FROM ${s}.queue WHERE position('/' IN name) > 0 GROUP BY 1
     )
     SELECT q."tenantId", q."queueCount", j."queuedCount", j."deferredCount", j."activeCount",
            j."completedCount", j."failedCount", j."cancelledCount", j."totalCount"
       FROM queues q LEFT JOIN jobs j USING ("tenantId")
      ORDER BY q."tenantId"`,
  );
  const tenants = (rows as TenantStats[]).map((row) => ({
    ...row,
    queuedCount: row.queuedCount ?? 0,
    deferredCount: row.deferredCount ?? 0,
    activeCount: row.activeCount ?? 0,
    completedCount: row.completedCount ?? 0,
    failedCount: row.failedCount ?? 0,
    cancelledCount: row.cancelledCount ?? 0,
    totalCount: row.totalCount ?? 0,
  }));
  const sum = (key: keyof QueueCounts | 'queueCount') => tenants.reduce((total, tenant) => total + tenant[key], 0);
  return {
    tenantCount: tenants.length,
    queueCount: sum('queueCount'),
    queuedCount: sum('queuedCount'),
    deferredCount: sum('deferredCount'),
    activeCount: sum('activeCount'),
    completedCount: sum('completedCount'),
    failedCount: sum('failedCount'),
    cancelledCount: sum('cancelledCount'),
    totalCount: sum('totalCount'),
    tenants,
  };
}
