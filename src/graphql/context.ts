import type { Viewer } from '../auth/authenticate.ts';
import type { Logger } from '../logger.ts';
import type { TenantQueues } from '../queue/tenant-queues.ts';
import type { Services } from '../services.ts';

/** What every resolver sees, built in one place for HTTP and graphql-ws alike. */
export interface Context {
  viewer: Viewer;
  /** The only way a resolver reaches pg-boss: scoped to the viewer's tenant. */
  queues: TenantQueues;
  logger: Logger;
}

export function createContext(services: Services, viewer: Viewer, transport: 'http' | 'ws'): Context {
  return {
    viewer,
    queues: services.tenantQueues(viewer.tenant.id),
    logger: services.logger.child({ tenant: viewer.tenant.id, transport }),
  };
}
