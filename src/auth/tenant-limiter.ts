import type { TenantLimits } from '../config.ts';
import type { TenantRecord } from './tenants.ts';

/** A tenant counts as active this long after its last operation. */
const ACTIVE_WINDOW_MS = 1_000;

interface Bucket {
  tokens: number;
  refilledAt: number;
}

export interface RateEnforcement {
  /** Whether the instance is saturated: past its fair share, a tenant is refused only then. */
  busy(): boolean;
  /** The default rate is a quota for every tenant, not a share. */
  defaultRateIsQuota: boolean;
}

/**
 * Per-tenant admission on this gateway instance: an operation rate (token
 * bucket, burst twice the rate) and caps on live connections and
 * subscriptions. A tenant's own limits override the gateway defaults. A rate
 * set for the tenant is a quota: once the bucket is spent, operations are
 * refused. The default rate is a fair share: a tenant past it is refused only
 * while the instance is busy and another tenant has had operations here in
 * the last second, so a tenant is never held to it on an idle instance or
 * alone on a busy one (JOBGATE_TENANT_OPERATIONS_QUOTA makes it a quota too).
 */
export class TenantLimiter {
  readonly #defaults: TenantLimits;
  readonly #enforcement: RateEnforcement;
  /** When each tenant last asked for an operation, for those within the last ACTIVE_WINDOW_MS. */
  readonly #lastActive = new Map<string, number>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #connections = new Map<string, number>();
  readonly #subscriptions = new Map<string, number>();

  constructor(defaults: TenantLimits, enforcement: RateEnforcement = { busy: () => true, defaultRateIsQuota: true }) {
    this.#defaults = defaults;
    this.#enforcement = enforcement;
  }

  limitsFor(tenant: TenantRecord): TenantLimits {
    return {
      operationsPerSecond: tenant.operationsPerSecond ?? this.#defaults.operationsPerSecond,
      maxConnections: tenant.maxConnections ?? this.#defaults.maxConnections,
      maxSubscriptions: tenant.maxSubscriptions ?? this.#defaults.maxSubscriptions,
    };
  }

  /** Takes one operation from the tenant's bucket; false when it is empty. */
  tryOperation(tenant: TenantRecord, now = Date.now()): boolean {
    const rate = this.limitsFor(tenant).operationsPerSecond;
    const capacity = rate * 2;
    this.#lastActive.delete(tenant.id);
    this.#lastActive.set(tenant.id, now);
    const bucket = this.#buckets.get(tenant.id) ?? { tokens: capacity, refilledAt: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.refilledAt) / 1000) * rate);
    bucket.refilledAt = now;
    this.#buckets.set(tenant.id, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    const quota = tenant.operationsPerSecond !== null || this.#enforcement.defaultRateIsQuota;
    return !quota && !(this.#enforcement.busy() && this.#othersActive(tenant.id, now));
  }

  /**
   * Counts one operation that is never refused (settling jobs the tenant's
   * worker holds): it takes a token when there is one, so the tenant's other
   * operations share what is left of its rate.
   */
  chargeOperation(tenant: TenantRecord, now = Date.now()): void {
    this.tryOperation(tenant, now);
  }

  /** Whether another tenant asked for an operation in the last ACTIVE_WINDOW_MS (oldest first in the map: stale ones go). */
  #othersActive(tenantId: string, now: number): boolean {
    for (const [other, at] of this.#lastActive) {
      if (now - at > ACTIVE_WINDOW_MS) this.#lastActive.delete(other);
      else if (other !== tenantId) return true;
    }
    return false;
  }

  /** Admits a connection; the returned function releases it. Null when at the cap. */
  openConnection(tenant: TenantRecord): (() => void) | null {
    return this.#admit(this.#connections, tenant.id, this.limitsFor(tenant).maxConnections);
  }

  openSubscription(tenant: TenantRecord): (() => void) | null {
    return this.#admit(this.#subscriptions, tenant.id, this.limitsFor(tenant).maxSubscriptions);
  }

  #admit(counts: Map<string, number>, tenantId: string, cap: number): (() => void) | null {
    const current = counts.get(tenantId) ?? 0;
    if (current >= cap) return null;
    counts.set(tenantId, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(tenantId) ?? 1) - 1;
      if (left <= 0) counts.delete(tenantId);
      else counts.set(tenantId, left);
    };
  }
}
