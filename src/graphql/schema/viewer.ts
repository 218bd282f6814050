import type { Viewer } from '../../auth/authenticate.ts';
import { ALL_SCOPES, type ScopeName } from '../../auth/scopes.ts';
import type { TenantRecord } from '../../auth/tenants.ts';
import { builder } from '../builder.ts';

export const ScopeEnum = builder.enumType('Scope', {
  description:
    "What a token may do. PUBLISH: send and manage jobs and queues; READ: queries and jobEvents; WORK: workAssigned and settling jobs; ADMIN: every tenant's stats.",
  values: Object.fromEntries(ALL_SCOPES.map((scope) => [scope, { value: scope }])) as Record<ScopeName, { value: ScopeName }>,
});

const TenantRef = builder.objectRef<TenantRecord>('Tenant').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable tenant id.' }),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The caller: the tenant its token belongs to and what the token may do.',
  fields: (t) => ({
    tenant: t.field({ type: TenantRef, resolve: (viewer) => viewer.tenant }),
    tokenId: t.exposeID('tokenId', { description: 'Public id of the token in use (never the secret).' }),
    scopes: t.field({ type: [ScopeEnum], resolve: (viewer) => [...viewer.scopes].sort() }),
  }),
});

builder.queryField('viewer', (t) => t.field({ type: ViewerRef, description: 'The authenticated caller.', resolve: (_root, _args, context) => context.viewer }));
