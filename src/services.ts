import type { PgBoss } from 'pg-boss';
import type { Authenticator } from './auth/authenticate.ts';
import type { Config } from './config.ts';
import type { PrismaClient } from './db/prisma.ts';
import type { Logger } from './logger.ts';
import type { TenantQueues } from './queue/tenant-queues.ts';

/** Long-lived dependencies shared by both transports. */
export interface Services {
  config: Config;
  logger: Logger;
  prisma: PrismaClient;
  boss: PgBoss;
  authenticator: Authenticator;
  tenantQueues(tenantId: string): TenantQueues;
}
