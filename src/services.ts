import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Authenticator } from './auth/authenticate.ts';
import type { AuthenticationFailures } from './auth/authentication-failures.ts';
import type { OperationAdmission } from './auth/operation-admission.ts';
import type { TenantDatabaseShare } from './auth/tenant-database-share.ts';
import type { TenantLimiter } from './auth/tenant-limiter.ts';
import type { Config } from './config.ts';
import type { PrismaClient } from './db/prisma.ts';
import type { Dispatcher } from './dispatch/dispatcher.ts';
import type { WorkerRegistry } from './dispatch/worker-registry.ts';
import type { JobEventBus } from './events/job-event-bus.ts';
import type { EventSources } from './events/tenant-events.ts';
import type { Logger } from './logger.ts';
import type { QuotedIdentifier } from './sql/identifiers.ts';
import type { Tenant } from './tenant/tenant.ts';

/** Long-lived dependencies shared by both transports. */
export interface Services {
  config: Config;
  logger: Logger;
  prisma: PrismaClient;
  boss: PgBoss;
  /** pg-boss's schema (config.bossSchema), quoted for SQL. */
  bossSchema: QuotedIdentifier;
  /** The gateway's own pool (leases, event sync), apart from pg-boss's and Prisma's. */
  pool: pg.Pool;
  events: JobEventBus;
  /** The job-event log as jobEvents reads it: the live feed, the cursors' seal, the pool replays read on. */
  eventSources: EventSources;
  dispatcher: Dispatcher;
  /** Random per process: worker holds are `<instanceId>:<connectionId>`. */
  instanceId: string;
  workers: WorkerRegistry;
  authenticator: Authenticator;
  /** Failed authentications per client address, both transports. */
  authenticationFailures: AuthenticationFailures;
  limiter: TenantLimiter;
  /** Each tenant's slots for database work on this instance. */
  databaseShare: TenantDatabaseShare;
  /**
   * The tenant-scoped pg-boss layer; `holder` identifies a worker connection
   * (null over HTTP), `admission` the calling operation's (none for work of
   * the gateway's own).
   */
  tenant(tenantId: string, holder: string | null, admission?: OperationAdmission): Tenant;
}
