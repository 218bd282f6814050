import type { PgBoss } from 'pg-boss';
import type { QuotedIdentifier } from '../sql/identifiers.ts';
import { TenantDispatchQueues } from './dispatch-queues.ts';
import { TenantJobs } from './jobs.ts';
import type { QueueNamespace } from './names.ts';
import { TenantQueues } from './queues.ts';
import { TenantSchedules } from './schedules.ts';
import { createTenantScope, type QueueLimits, type TenantScope } from './scope.ts';
import { TenantSends } from './sends.ts';
import { TenantSettlements } from './settlements.ts';
import type { WorkIdentity } from './work-identity.ts';

/**
 * The tenant-scoped face of pg-boss, for one tenant and one caller: the only
 * code that touches pg-boss on a tenant's behalf. Every name a tenant passes
 * is validated and qualified with the tenant's prefix, and nothing outside
 * that prefix is ever returned: something of another tenant looks exactly
 * like something that does not exist.
 */
export class Tenant {
  readonly id: string;
  readonly names: QueueNamespace;
  /** For the modules that bring the rest of pg-boss to the tenant (flows.ts, topics.ts, … in this folder). */
  readonly scope: TenantScope;
  readonly queues: TenantQueues;
  readonly sends: TenantSends;
  readonly jobs: TenantJobs;
  readonly settlements: TenantSettlements;
  readonly schedules: TenantSchedules;
  /** What the dispatcher of workAssigned does in these queues. */
  readonly dispatch: TenantDispatchQueues;

  /** `schema`: pg-boss's, quoted. */
  constructor(boss: PgBoss, schema: QuotedIdentifier, tenantId: string, limits: QueueLimits, work: WorkIdentity) {
    this.id = tenantId;
    this.scope = createTenantScope(boss, schema, tenantId, limits, work);
    this.names = this.scope.names;
    this.queues = new TenantQueues(this.scope);
    this.dispatch = new TenantDispatchQueues(this.scope);
    this.sends = new TenantSends(this.scope, this.dispatch);
    this.jobs = new TenantJobs(this.scope);
    this.settlements = new TenantSettlements(this.scope);
    this.schedules = new TenantSchedules(this.scope);
  }
}
