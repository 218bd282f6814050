import { describe, expect, it } from '@jest/globals';
import type { DispatchQueues } from '../../src/dispatch/port.ts';
import { MAX_CLAIMS, QueueSlot } from '../../src/dispatch/queue-slot.ts';
import { jobKey, WorkSubscription } from '../../src/dispatch/work-subscription.ts';
import type { JobRecord } from '../../src/tenant/job-record.ts';

// The dispatcher's per-queue bookkeeping, without PostgreSQL: who gets which job, and that
// overlapping claims never promise a subscription more than its concurrency.

const QUEUE = 't/q';

function subscription(holder: string, concurrency: number, groupLimits?: { default: number }): WorkSubscription {
  return new WorkSubscription({ queues: {} as DispatchQueues, holder, names: [QUEUE], concurrency, groupLimits }, () => {});
}

function slotWith(...subscriptions: WorkSubscription[]): QueueSlot {
  const slot = new QueueSlot(QUEUE);
  slot.subscriptions.push(...subscriptions);
  return slot;
}

const jobs = (count: number) => Array.from({ length: count }, (_, n) => ({ id: `job-${n}` }) as JobRecord);

function hold(subscription: WorkSubscription, id: string): void {
  subscription.held.set(jobKey(QUEUE, id), { queue: QUEUE, id, retryCount: 0, started: true, committed: true });
}

describe('a queue slot', () => {
  it('deals a claim round-robin over the subscriptions with room, as far as each has room', () => {
    const [a, b, c] = [subscription('a', 1), subscription('b', 3), subscription('c', 2)];
    const slot = slotWith(a, b, c);
    const reservation = slot.reserve()!;
    expect(reservation.turns.map((turn) => turn.subscription.holder)).toEqual(['a', 'b', 'c', 'b', 'c', 'b']);
    expect([a.free, b.free, c.free]).toEqual([0, 0, 0]);
    reservation.end();
    expect([a.free, b.free, c.free]).toEqual([1, 3, 2]);
  });

  it('starts the next claim after the last subscription that got a job, so short claims spread the work', () => {
    const [a, b, c] = [subscription('a', 5), subscription('b', 5), subscription('c', 5)];
    const slot = slotWith(a, b, c);
    const firsts: string[] = [];
    for (let round = 0; round < 6; round++) {
      const reservation = slot.reserve()!;
      const [[got]] = slot.assign(jobs(1), reservation.turns) as [[WorkSubscription, JobRecord]];
      firsts.push(got.holder);
      reservation.end();
    }
    expect(firsts).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('assigns no more jobs than there were turns', () => {
    const slot = slotWith(subscription('a', 2));
    const reservation = slot.reserve()!;
    expect(slot.assign(jobs(5), reservation.turns)).toHaveLength(2);
  });

  it("never promises more than a subscription's concurrency, across overlapping claims and holds", () => {
    const a = subscription('a', 4);
    const slot = slotWith(a);
    hold(a, 'held-1');
    const first = slot.reserve()!;
    expect(first.turns).toHaveLength(3);
    // Everything free is promised to the first claim: a second finds no room.
    expect(slot.reserve()).toBeUndefined();
    // The first claim got one job and holds it; the rest of its room is free again.
    slot.assign(jobs(1), first.turns);
    hold(a, 'job-0');
    first.releaseRoom();
    expect(a.free).toBe(2);
    const second = slot.reserve()!;
    expect(second.turns).toHaveLength(2);
    expect(slot.claims).toBe(2);
    first.end();
    second.end();
    expect(slot.claims).toBe(0);
    expect(a.free).toBe(2);
  });

  it('ends a reservation once, however often it is told', () => {
    const a = subscription('a', 2);
    const slot = slotWith(a);
    const reservation = slot.reserve()!;
    reservation.releaseRoom();
    reservation.end();
    reservation.end();
    expect(slot.claims).toBe(0);
    expect(a.free).toBe(2);
    expect(a.reserved).toBe(0);
  });

  it(`lets ${MAX_CLAIMS} claims overlap while flowing, one at a time while probing an empty queue`, () => {
    const subscriptions = Array.from({ length: MAX_CLAIMS + 1 }, (_, n) => subscription(`w${n}`, 1));
    const slot = slotWith(...subscriptions);
    // Each claim takes all free room, so free some between claims as if jobs had settled.
    const reservations = [];
    for (let n = 0; n < MAX_CLAIMS; n++) {
      expect(slot.mayClaim).toBe(true);
      const reservation = slot.reserve()!;
      reservations.push(reservation);
      reservation.releaseRoom();
    }
    expect(slot.mayClaim).toBe(false);
    expect(slot.reserve()).toBeUndefined();
    for (const reservation of reservations) reservation.end();

    slot.setModeAfterClaim(0, 4);
    expect(slot.mode).toBe('probing');
    expect(slot.mayClaim).toBe(true);
    const probe = slot.reserve()!;
    probe.releaseRoom();
    expect(slot.mayClaim).toBe(false);
    slot.setModeFlowing();
    expect(slot.mayClaim).toBe(true);
    probe.end();
    slot.setModeAfterClaim(4, 4);
    expect(slot.mode).toBe('flowing');
  });

  it('gives a paused subscription nothing, and a slot without room no reservation', () => {
    const a = subscription('a', 3);
    const slot = slotWith(a);
    a.paused = true;
    expect(slot.reserve()).toBeUndefined();
    expect(slot.claims).toBe(0);
  });

  it('remembers a wake that no claim could see, until a claim starts', () => {
    const slot = slotWith(subscription('a', 1), subscription('b', 1));
    const claim = slot.reserve()!;
    slot.noteMissedWake();
    expect(slot.missedWake).toBe(true);
    claim.end();
    slot.reserve()!.end();
    expect(slot.missedWake).toBe(false);
  });

  it('takes no send-time claims when a subscription limits groups', () => {
    expect(slotWith(subscription('a', 1), subscription('b', 1)).acceptsHandoff).toBe(true);
    expect(slotWith(subscription('a', 1), subscription('b', 1, { default: 1 })).acceptsHandoff).toBe(false);
  });
});
