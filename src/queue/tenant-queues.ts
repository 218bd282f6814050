import type { PgBoss } from 'pg-boss';
import { QueueNamespace } from './names.ts';

/**
 * The tenant-scoped face of pg-boss, constructed for one tenant. It is the
 * only code that calls pg-boss on a tenant's behalf.
 */
export class TenantQueues {
  readonly tenantId: string;
  readonly #boss: PgBoss;
  readonly #names: QueueNamespace;

  constructor(boss: PgBoss, tenantId: string) {
    this.tenantId = tenantId;
    this.#boss = boss;
    this.#names = new QueueNamespace(tenantId);
  }
}
