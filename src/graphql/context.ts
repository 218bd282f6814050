import type { Viewer } from '../auth/authenticate.ts';
import type { Logger } from '../logger.ts';
import { loadGlobalStats, type GlobalStats, type TenantStats } from '../queue/global-stats.ts';
import type { TenantQueues } from '../queue/tenant-queues.ts';
import type { TenantRecord } from '../auth/tenants.ts';
import type { Services } from '../services.ts';

export interface AdminView {
  /** Every tenant's counts; only reachable through ADMIN-scoped fields. */
  globalStats(): Promise<GlobalStats & { tenants: (TenantStats & { tenant: TenantRecord | null })[] }>;
}

/** What every resolver sees, built in one place for HTTP and graphql-ws alike. */
export interface Context {
  viewer: Viewer;
  /** The only way a resolver reaches pg-boss: scoped to the viewer's tenant. */
  queues: TenantQueues;
  admin: AdminView;
  logger: Logger;
}

export function createContext(services: Services, viewer: Viewer, transport: 'http' | 'ws'): Context {
  return {
    viewer,
    queues: services.tenantQueues(viewer.tenant.id),
    admin: {
      async globalStats() {
        const stats = await loadGlobalStats(services.boss, services.config.bossSchema);
        const tenants = await services.prisma.tenant.findMany({ where: { id: { in: stats.tenants.map((t) => t.tenantId) } } });
        const byId = new Map(tenants.map((tenant) => [tenant.id, tenant]));
        return { ...stats, tenants: stats.tenants.map((t) => ({ ...t, tenant: byId.get(t.tenantId) ?? null })) };
      },
    },
    logger: services.logger.child({ tenant: viewer.tenant.id, transport }),
  };
}
