import type { Db } from 'pg-boss';
import { clientError } from '../errors.ts';

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

/** `schema`: quoted. Whether the tenant's queue exists; when it does not, refuses it past `max` of the tenant's queues. */
export async function admitQueue(db: Db, schema: string, prefix: string, qualified: string, max: number): Promise<'exists' | 'admitted'> {
  const { rows } = await db.executeSql(
    `SELECT count(*)::int AS queues, coalesce(bool_or(name = $2), false) AS present FROM ${schema}.queue WHERE starts_with(name, $1)`,
    [prefix, qualified],
  );
  const { queues, present } = rows[0] as { queues: number; present: boolean };
  if (present) return 'exists';
  if (queues >= max) throw quotaExceeded('queues', max, 'JOBGATE_TENANT_MAX_QUEUES');
  return 'admitted';
}

/** Refuses a new schedule (not one that replaces the queue's schedule of the same key) past `max` of the tenant's schedules. */
export async function admitSchedule(db: Db, schema: string, prefix: string, qualified: string, key: string, max: number): Promise<void> {
  const { rows } = await db.executeSql(
    `SELECT count(*)::int AS schedules, coalesce(bool_or(name = $2 AND key = $3), false) AS present FROM ${schema}.schedule WHERE starts_with(name, $1)`,
    [prefix, qualified, key],
  );
  const { schedules, present } = rows[0] as { schedules: number; present: boolean };
  if (!present && schedules >= max) throw quotaExceeded('schedules', max, 'JOBGATE_TENANT_MAX_SCHEDULES');
}
