import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from '@jest/globals';
import { jobIdMaker } from '../../src/tenant/job-ids.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it('makes UUIDv7 ids that carry the millisecond they were made in and differ in their random bits', async () => {
  const before = Date.now();
  const newId = jobIdMaker();
  const after = Date.now();
  const ids = Array.from({ length: 10_000 }, () => newId());
  for (const id of ids.slice(0, 100)) expect(id).toMatch(V7);
  expect(new Set(ids).size).toBe(ids.length);
  const ms = parseInt(ids[0]!.replaceAll('-', '').slice(0, 12), 16);
  expect(ms).toBeGreaterThanOrEqual(before);
  expect(ms).toBeLessThanOrEqual(after);
  // A later maker's ids sort after every id of an earlier millisecond.
  await sleep(2);
  const later = jobIdMaker()();
  expect(ids.every((id) => id < later)).toBe(true);
});
