import { describe, expect, it } from '@jest/globals';
import { TenantLimiter } from '../../src/auth/tenant-limiter.ts';
import type { TenantRecord } from '../../src/auth/tenants.ts';

// The operation rate without a gateway: the default rate is a fair share, a tenant's own rate a quota.

const defaults = { operationsPerSecond: 10, maxConnections: 10, maxSubscriptions: 10 };
const tenant = (operationsPerSecond: number | null = null) =>
  ({ id: `t-${operationsPerSecond}`, operationsPerSecond, maxConnections: null, maxSubscriptions: null }) as TenantRecord;
const NOW = 1_000_000;
/** How many of `count` operations at one instant are admitted. */
const admitted = (limiter: TenantLimiter, record: TenantRecord, count: number) =>
  Array.from({ length: count }, () => limiter.tryOperation(record, NOW)).filter(Boolean).length;

describe('the tenant operation rate', () => {
  it('past the default rate, admits a tenant while the instance is not busy, or busy with it alone; refuses it once others share a busy instance', () => {
    let busy = false;
    const limiter = new TenantLimiter(defaults, { busy: () => busy, defaultRateIsQuota: false });
    const record = tenant();
    expect(admitted(limiter, record, 100)).toBe(100);
    busy = true;
    expect(admitted(limiter, record, 5)).toBe(5);
    const other = { ...tenant(), id: 'other' };
    expect(limiter.tryOperation(other, NOW)).toBe(true);
    expect(admitted(limiter, record, 5)).toBe(0);
    // The other tenant within its share is still admitted.
    expect(admitted(limiter, other, 5)).toBe(5);
    busy = false;
    expect(admitted(limiter, record, 5)).toBe(5);
  });

  it('holds a tenant to its own rate (a quota), busy or not, and the default too when it is made a quota', () => {
    const share = new TenantLimiter(defaults, { busy: () => false, defaultRateIsQuota: false });
    // Burst: twice the rate.
    expect(admitted(share, tenant(3), 100)).toBe(6);
    const quota = new TenantLimiter(defaults, { busy: () => false, defaultRateIsQuota: true });
    expect(admitted(quota, tenant(), 100)).toBe(20);
  });

  it('counts a charged operation against the rate without ever refusing it, leaving the rest for the others', () => {
    const limiter = new TenantLimiter(defaults, { busy: () => false, defaultRateIsQuota: false });
    const record = tenant(3);
    // Burst 6: four charged, two left to admit.
    for (let n = 0; n < 4; n++) limiter.chargeOperation(record, NOW);
    expect(admitted(limiter, record, 100)).toBe(2);
    // Charged past an empty bucket: nothing owed afterwards, the refill is the tenant's again.
    for (let n = 0; n < 10; n++) limiter.chargeOperation(record, NOW);
    expect(admitted(limiter, record, 1)).toBe(0);
    expect(Array.from({ length: 10 }, () => limiter.tryOperation(record, NOW + 1_000)).filter(Boolean).length).toBe(3);
  });
});
