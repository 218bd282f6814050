import type { Viewer } from '../auth/authenticate.ts';
import { OperationAdmission } from '../auth/operation-admission.ts';
import type { TenantRecord } from '../auth/tenants.ts';
import { TenantWork } from '../dispatch/tenant-work.ts';
import { JobEventHistory } from '../events/job-event-history.ts';
import { TenantEvents } from '../events/tenant-events.ts';
import type { Logger } from '../logger.ts';
import type { Outbound } from '../server/outbound.ts';
import type { Services } from '../services.ts';
import { loadGlobalStats, type GlobalStats, type TenantStats } from '../stats/global-stats.ts';
import { QueueHistory } from '../stats/queue-history.ts';
import { TenantEdits } from '../tenant/edits.ts';
import { TenantFlows } from '../tenant/flows.ts';
import type { TenantJobs } from '../tenant/jobs.ts';
import { TenantPurge } from '../tenant/purge.ts';
import type { TenantQueues } from '../tenant/queues.ts';
import { TenantRedrive } from '../tenant/redrive.ts';
import { previewSchedule } from '../tenant/schedule-preview.ts';
import type { TenantSchedules } from '../tenant/schedules.ts';
import { TenantSearch } from '../tenant/search.ts';
import type { TenantSends } from '../tenant/sends.ts';
import type { TenantSettlements } from '../tenant/settlements.ts';
import { TenantTopics } from '../tenant/topics.ts';

export interface AdminView {
  /** Every tenant's counts; only reachable through ADMIN-scoped fields. */
  globalStats(): Promise<GlobalStats & { tenants: (TenantStats & { tenant: TenantRecord | null })[] }>;
}

/** What every resolver sees, built in one place for HTTP and graphql-ws alike. */
export interface Context {
  viewer: Viewer;
  /** Correlates the log lines of one request (HTTP) or one operation (graphql-ws). */
  requestId: string;
  /** Depth, breadth and complexity allowed per operation. */
  queryLimits: { depth: number; breadth: number; complexity: number };
  // The only ways a resolver reaches pg-boss, each scoped to the viewer's tenant.
  /** The tenant's queues. */
  queues: TenantQueues;
  /** sendJob and sendJobs. */
  sends: TenantSends;
  /** Reading jobs. */
  jobs: TenantJobs;
  /** Commands on jobs: cancel, resume, retry, delete, complete, fail, touch, progress. */
  settlements: TenantSettlements;
  /** Cron schedules. */
  schedules: TenantSchedules;
  /** pg-boss flows: jobs that wait for other jobs. */
  flows: TenantFlows;
  /** pg-boss publish/subscribe, topics named in the tenant's namespace. */
  topics: TenantTopics;
  /** Dead-lettered jobs back to their queues. */
  redrive: TenantRedrive;
  /** Bulk deletes of a queue's jobs. */
  purge: TenantPurge;
  /** updateJob and upsertJob. */
  edits: TenantEdits;
  /** findJobs and blockedKeys. */
  search: TenantSearch;
  /** The next run times of a cron expression. */
  schedulePreview: (cron: string, options: Parameters<typeof previewSchedule>[2]) => Date[];
  /** Live job events of the viewer's tenant. */
  events: TenantEvents;
  /** The logged events of one job (jobEventHistory). */
  eventHistory: JobEventHistory;
  admin: AdminView;
  /** Push dispatch to this connection (workAssigned). */
  work: TenantWork;
  /** Per-interval throughput and depth of the tenant's queues (dashboard charts). */
  history: QueueHistory;
  logger: Logger;
  /** The graphql-ws connection the operation arrived on; null over HTTP. */
  connection: ConnectionHandle | null;
  /** An HTTP request's Last-Event-ID header (an EventSource reconnecting): where jobEvents resumes without `after`. */
  lastEventId: string | null;
  /** Where the operation's results are written (a socket or an HTTP response), bounded for slow consumers. */
  outbound: Outbound;
  /** The operation's rate-limit admission, where it is deferred to a settle. */
  admission: OperationAdmission;
}

/** The graphql-ws connection an operation arrived on. */
export interface ConnectionHandle {
  id: string;
  /**
   * Writes a `next` message of this operation with an already serialized
   * payload; `written` runs once the socket took it. False if the socket is
   * no longer open.
   */
  sendNext(payloadJson: string, written: () => void): boolean;
}

export function createContext(
  services: Services,
  viewer: Viewer,
  connection: ConnectionHandle | null,
  outbound: Outbound,
  requestId: string,
  lastEventId: string | null = null,
): Context {
  const holder = connection === null ? null : `${services.instanceId}:${connection.id}`;
  const admission = new OperationAdmission();
  const tenant = services.tenant(viewer.tenant.id, holder, admission);
  return {
    viewer,
    requestId,
    queryLimits: services.config.queryLimits,
    queues: tenant.queues,
    sends: tenant.sends,
    jobs: tenant.jobs,
    settlements: tenant.settlements,
    schedules: tenant.schedules,
    flows: new TenantFlows(tenant.scope),
    topics: new TenantTopics(tenant.scope),
    redrive: new TenantRedrive(tenant.scope),
    purge: new TenantPurge(tenant.scope),
    edits: new TenantEdits(tenant.scope),
    search: new TenantSearch(tenant.scope),
    schedulePreview: (cron, options) => previewSchedule(services.boss, cron, options),
    eventHistory: new JobEventHistory(services.eventSources, tenant.jobs.names),
    events: new TenantEvents(services.eventSources, tenant.jobs, services.config.eventBufferSize, () => outbound.drop('events')),
    admin: {
      async globalStats() {
        const stats = await loadGlobalStats(services.boss, services.bossSchema);
        const tenants = await services.prisma.tenant.findMany({ where: { id: { in: stats.tenants.map((t) => t.tenantId) } } });
        const byId = new Map(tenants.map((tenant) => [tenant.id, tenant]));
        return { ...stats, tenants: stats.tenants.map((t) => ({ ...t, tenant: byId.get(t.tenantId) ?? null })) };
      },
    },
    work: new TenantWork(services.dispatcher, services.workers, tenant, holder),
    history: new QueueHistory(services.boss, services.bossSchema, viewer.tenant.id),
    logger: services.logger.child({ requestId, tenant: viewer.tenant.id, transport: holder === null ? 'http' : 'ws' }),
    connection,
    lastEventId,
    outbound,
    admission,
  };
}
