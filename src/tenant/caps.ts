import type { Db } from 'pg-boss';
import { clientError } from '../errors.ts';
import { queueCap, scheduleCap } from '../sql/caps.ts';
import type { QuotedIdentifier } from '../sql/identifiers.ts';
import { rowsOf } from '../sql/plan.ts';

/** The last create under way per tenant on this instance: the next one starts after it. */
const tails = new Map<string, Promise<void>>();

/**
 * Runs the tenant's creates (queues, schedules) on this instance one after
 * the other, so that counting and creating cannot interleave. pg-boss creates
 * queues in a transaction of its own, which leaves no way to take a lock
 * inside it: instances creating at once can each pass the cap by one.
 */
export async function oneCreateAtATime<T>(key: string, create: () => Promise<T>): Promise<T> {
  const before = tails.get(key) ?? Promise.resolve();
  let done!: () => void;
  const tail = before.then(() => new Promise<void>((resolve) => (done = resolve)));
  tails.set(key, tail);
  await before;
  try {
    return await create();
  } finally {
    done();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

export function quotaExceeded(limit: 'queues' | 'schedules', max: number, setting: string): Error {
  return clientError('QUOTA_EXCEEDED', `the tenant has ${max} ${limit}, the most it may have (${setting}); delete some first`, { limit, max });
}

/** Whether the tenant's queue exists; when it does not, refuses it past `max` of the tenant's queues. */
export async function admitQueue(db: Db, schema: QuotedIdentifier, prefix: string, qualified: string, max: number): Promise<'exists' | 'admitted'> {
  const [count] = await rowsOf<{ queues: number; present: boolean }>(db, queueCap(schema, prefix, qualified));
  const { queues, present } = count!;
  if (present) return 'exists';
  if (queues >= max) throw quotaExceeded('queues', max, 'JOBGATE_TENANT_MAX_QUEUES');
  return 'admitted';
}

/** Refuses a new schedule (not one that replaces the queue's schedule of the same key) past `max` of the tenant's schedules. */
export async function admitSchedule(db: Db, schema: QuotedIdentifier, prefix: string, qualified: string, key: string, max: number): Promise<void> {
  const [count] = await rowsOf<{ schedules: number; present: boolean }>(db, scheduleCap(schema, prefix, qualified, key));
  const { schedules, present } = count!;
  if (!present && schedules >= max) throw quotaExceeded('schedules', max, 'JOBGATE_TENANT_MAX_SCHEDULES');
}
