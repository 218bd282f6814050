import type { TenantRecord } from '../../auth/tenants.ts';
import type { GlobalStats, TenantStats } from '../../stats/global-stats.ts';
import { builder, type SchemaTypes } from '../builder.ts';

interface TenantStatsView extends TenantStats {
  tenant: TenantRecord | null;
}

const countFields = (t: PothosSchemaTypes.ObjectFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<SchemaTypes>, GlobalStats | TenantStatsView>) => ({
  queueCount: t.exposeInt('queueCount'),
  queuedCount: t.exposeInt('queuedCount'),
  deferredCount: t.exposeInt('deferredCount'),
  activeCount: t.exposeInt('activeCount'),
  completedCount: t.exposeInt('completedCount'),
  failedCount: t.exposeInt('failedCount'),
  cancelledCount: t.exposeInt('cancelledCount'),
  totalCount: t.exposeInt('totalCount'),
});

const TenantStatsRef = builder.objectRef<TenantStatsView>('TenantStats').implement({
  fields: (t) => ({
    tenantId: t.exposeID('tenantId'),
    tenantName: t.string({ nullable: true, resolve: (stats) => stats.tenant?.name ?? null }),
    ...countFields(t),
  }),
});

const GlobalStatsRef = builder.objectRef<GlobalStats & { tenants: TenantStatsView[] }>('GlobalStats').implement({
  description: 'Totals across every tenant (ADMIN).',
  fields: (t) => ({
    tenantCount: t.exposeInt('tenantCount'),
    ...countFields(t),
    tenants: t.field({ type: [TenantStatsRef], resolve: (stats) => stats.tenants }),
  }),
});

builder.queryField('globalStats', (t) =>
  t.field({
    type: GlobalStatsRef,
    authScopes: { admin: true },
    resolve: (_root, _args, context) => context.admin.globalStats(),
  }),
);

export type { TenantStatsView };
