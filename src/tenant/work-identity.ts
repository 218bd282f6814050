import type { Db } from 'pg-boss';
import type { OperationAdmission } from '../auth/operation-admission.ts';
import type { LeaseTokens } from '../dispatch/lease-tokens.ts';
import type { Leases } from '../dispatch/leases.ts';
import type { DispatchPort } from '../dispatch/port.ts';

/** Who is calling, for jobs pushed by workAssigned. */
export interface WorkIdentity {
  leases: Leases;
  /** Signs and reads the lease tokens of pushed jobs. */
  leaseTokens: LeaseTokens;
  /** The calling operation's rate-limit admission, when a settle decides it. */
  admission?: OperationAdmission | undefined;
  /** Runs the hot statements (sends, reads) as prepared statements. */
  db: Db;
  /** The worker connection making the call; null over HTTP. */
  holder: string | null;
  /** This instance's dispatcher: told of sends and settlements, asked for room and holds. */
  dispatch?: DispatchPort | undefined;
  /** Counts jobs sent and settled (metrics); `queue` is the tenant's name. */
  observer?: QueueObserver | undefined;
}

export interface QueueObserver {
  sent(tenantId: string, queue: string, count: number): void;
  settled(tenantId: string, queue: string, outcome: 'complete' | 'fail', count: number): void;
}
