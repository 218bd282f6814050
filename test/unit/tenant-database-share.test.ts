import { describe, expect, it } from '@jest/globals';
import { TenantDatabaseShare, type ReleaseSlot } from '../../src/auth/tenant-database-share.ts';

// Slots of database work per tenant, without a database: a share while tenants meet, more while alone.
// Waits left open at the end are refused after the share's wait bound: each is caught.

const request = { refusable: true, maxWaiting: 100 };
const settled = () => new Promise((resolve) => setImmediate(resolve));
const SHARE = 4;
const ALONE = 16;

async function take(share: TenantDatabaseShare, tenant: string, count: number): Promise<ReleaseSlot[]> {
  return Promise.all(Array.from({ length: count }, () => share.acquire(tenant, request)));
}

describe('a tenant database share', () => {
  it('lets a tenant alone on the instance run past its share, up to the limit for a tenant alone', async () => {
    const share = new TenantDatabaseShare(SHARE, 5_000, ALONE);
    await take(share, 'a', ALONE);
    expect(share.usage('a')).toEqual({ active: ALONE, waiting: 0 });
    share.acquire('a', request).catch(() => {});
    expect(share.usage('a')).toEqual({ active: ALONE, waiting: 1 });
  });

  it('holds a tenant to its share while another tenant has, or just had, database work', async () => {
    const share = new TenantDatabaseShare(SHARE, 5_000, ALONE);
    const [other] = await take(share, 'b', 1);
    await take(share, 'a', SHARE);
    let fifth = false;
    share.acquire('a', request).then(
      () => (fifth = true),
      () => {},
    );
    await settled();
    expect(fifth).toBe(false);
    expect(share.usage('a')).toEqual({ active: SHARE, waiting: 1 });
    other!();
    // b ended, but was active within the last second: a still waits for its own slots.
    await settled();
    expect(share.usage('a').waiting).toBe(1);
  });

  it('drains what a tenant borrowed when another turns up: its slots go back, not to its own line, until it is within its share', async () => {
    const share = new TenantDatabaseShare(SHARE, 5_000, ALONE);
    const borrowed = await take(share, 'a', 10);
    const [newcomer] = await take(share, 'b', 1);
    expect(newcomer).toBeDefined();
    let granted = 0;
    for (let n = 0; n < 3; n++)
      share.acquire('a', request).then(
        () => granted++,
        () => {},
      );
    for (const release of borrowed.slice(0, 6)) release();
    await settled();
    // 10 held, 6 ended: 4 left, its share; none of the waiting three got a slot.
    expect(granted).toBe(0);
    expect(share.usage('a')).toEqual({ active: SHARE, waiting: 3 });
    borrowed[6]!();
    await settled();
    expect(granted).toBe(1);
    expect(share.usage('a')).toEqual({ active: SHARE, waiting: 2 });
  });

  it('gives every tenant its share at once, however much another holds', async () => {
    const share = new TenantDatabaseShare(SHARE, 5_000, ALONE);
    await take(share, 'a', ALONE);
    const slots = await take(share, 'b', SHARE);
    expect(slots).toHaveLength(SHARE);
    expect(share.usage('b')).toEqual({ active: SHARE, waiting: 0 });
  });

  it('borrows past its share for its waiting line too, once alone: a line does not hold a tenant alone to its share', async () => {
    const share = new TenantDatabaseShare(SHARE, 5_000, ALONE);
    const [other] = await take(share, 'b', 1);
    const held = await take(share, 'a', SHARE);
    const urgent = { refusable: false, maxWaiting: Infinity };
    const waiting = Array.from({ length: 20 }, () => share.acquire('a', urgent));
    await settled();
    expect(share.usage('a')).toEqual({ active: SHARE, waiting: 20 });
    other!();
    // b is gone from the active window once a second has passed: a's next release serves its line up to ALONE.
    const realNow = Date.now;
    Date.now = () => realNow() + 2_000;
    try {
      held[0]!();
      await settled();
      expect(share.usage('a')).toEqual({ active: ALONE, waiting: 20 - 1 - (ALONE - SHARE) });
    } finally {
      Date.now = realNow;
    }
    for (const release of [...held.slice(1), ...(await Promise.all(waiting.slice(0, ALONE - SHARE + 1)))]) release();
    for (const release of await Promise.all(waiting.slice(ALONE - SHARE + 1))) release();
  });

  it('serves a refusable request after at most 8 unrefusable ones, however many of those keep coming', async () => {
    const share = new TenantDatabaseShare(SHARE, 5_000, SHARE);
    const held = await take(share, 'a', SHARE);
    const urgent = { refusable: false, maxWaiting: Infinity };
    const order: string[] = [];
    // Each request gives its slot back as soon as it has it: one release lets the whole line through, in the share's order.
    const served = (name: string) => (release: ReleaseSlot) => {
      order.push(name);
      release();
    };
    const waits = Array.from({ length: 30 }, (_, n) => share.acquire('a', urgent).then(served(`settlement ${n}`)));
    waits.push(share.acquire('a', request).then(served('send')));
    for (const release of held) release();
    await Promise.all(waits);
    expect(order).toHaveLength(31);
    expect(order.indexOf('send')).toBeLessThanOrEqual(8);
  });
});
