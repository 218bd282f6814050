import type { PgBoss } from 'pg-boss';
import type { QuotedIdentifier } from '../sql/identifiers.ts';
import { tenantTotals } from '../sql/stats.ts';
import type { QueueCounts } from '../tenant/queue-record.ts';

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
export async function loadGlobalStats(boss: PgBoss, schema: QuotedIdentifier): Promise<GlobalStats> {
  const { rows } = await boss.getDb().executeSql(tenantTotals(schema));
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
