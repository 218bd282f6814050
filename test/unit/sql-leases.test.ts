import { describe, expect, it } from '@jest/globals';
import { beginReleasingOwnLeases, claimLock, grantLeases, inlineGrant, releaseHeldLeases, upsertNumberedHolds } from '../../src/sql/leases.ts';
import { intArray, textArray, uuidArray } from '../../src/sql/literals.ts';

// The lease statements that travel with others in one simple-protocol message carry their values
// in their text: these pin that text (the one-trip claim and settlement send exactly it) and that
// nothing but a job id or an integer gets written in unquoted.

const A = '0190a3b4-0000-7000-8000-000000000001';
const B = '0190A3B4-0000-7000-8000-00000000000B';

describe('literals', () => {
  it('writes ids, integers and texts as typed array literals', () => {
    expect(uuidArray([A, B])).toBe(`'{${A},${B}}'::uuid[]`);
    expect(uuidArray([])).toBe(`'{}'::uuid[]`);
    expect(intArray([0, 3, -1])).toBe(`'{0,3,-1}'::int[]`);
    expect(textArray(["it's", 'b'])).toBe(`ARRAY['it''s','b']::text[]`);
  });

  it('refuses what is not a job id or an integer', () => {
    expect(() => uuidArray([A, `${A}'); DROP TABLE job_lease; --`])).toThrow('not a job id');
    expect(() => uuidArray(['0190a3b4-0000-7000-8000-00000000000'])).toThrow('not a job id');
    expect(() => uuidArray(['0190a3b4-0000-7000-8000-00000000000g'])).toThrow('not a job id');
    expect(() => intArray([1.5])).toThrow('not an integer');
    expect(() => intArray([Number.NaN])).toThrow('not an integer');
    expect(() => intArray([Number.POSITIVE_INFINITY])).toThrow('not an integer');
  });
});

describe('lease plans', () => {
  const grants = [
    { id: A, retryCount: 0, holder: 'i1:c1' },
    { id: B, retryCount: 2, holder: "i1:c'2" },
  ];

  it('grants with parameters, in a text that does not depend on them', () => {
    const plan = grantLeases('t/q', grants);
    expect(plan.values).toEqual(['t/q', [A, B], [0, 2], ['i1:c1', "i1:c'2"]]);
    expect(grantLeases('other', grants.slice(1)).text).toBe(plan.text);
    expect(plan.text).toBe(`INSERT INTO job_lease (queue, job_id, retry_count, holder)
   SELECT $1, g.id, g.retry_count, g.holder FROM unnest($2::uuid[], $3::int[], $4::text[]) AS g(id, retry_count, holder)
   ON CONFLICT (job_id, queue) DO UPDATE
     SET retry_count = excluded.retry_count, holder = excluded.holder, leased_at = now()`);
  });

  it('writes the grant of a claim with its values in', () => {
    expect(inlineGrant("t/it's", grants)).toBe(`INSERT INTO job_lease (queue, job_id, retry_count, holder)
   SELECT 't/it''s', g.id, g.retry_count, g.holder FROM unnest('{${A},${B}}'::uuid[], '{0,2}'::int[], ARRAY['i1:c1','i1:c''2']::text[]) AS g(id, retry_count, holder)
   ON CONFLICT (job_id, queue) DO UPDATE
     SET retry_count = excluded.retry_count, holder = excluded.holder, leased_at = now()`);
    expect(() => inlineGrant('t/q', [{ id: 'x', retryCount: 0, holder: 'h' }])).toThrow('not a job id');
    expect(() => inlineGrant('t/q', [{ id: A, retryCount: 0.5, holder: 'h' }])).toThrow('not an integer');
  });

  it('writes the holds of a send that claims, the n-th job to the n-th holder', () => {
    expect(upsertNumberedHolds('t/q', ['i1:a', 'i1:b'], 'NUMBERED')).toBe(`INSERT INTO job_lease (queue, job_id, retry_count, holder)
   SELECT 't/q', job_id, retry_count, (ARRAY['i1:a','i1:b']::text[])[n] FROM (NUMBERED) AS held
   ON CONFLICT (job_id, queue) DO UPDATE
     SET retry_count = excluded.retry_count, holder = excluded.holder, leased_at = now()`);
  });

  it('writes the release of held attempts for the one-trip settlement', () => {
    expect(releaseHeldLeases("t/q'", 'i1:c1', grants)).toBe(`SELECT release_held_leases('t/q''', 'i1:c1', '{${A},${B}}'::uuid[], '{0,2}'::int[])`);
    expect(() => releaseHeldLeases('t/q', 'h', [{ id: `${A},${B}`, retryCount: 0 }])).toThrow('not a job id');
    expect(() => releaseHeldLeases('t/q', 'h', [{ id: A, retryCount: Number.NaN }])).toThrow('not an integer');
  });

  it('writes BEGIN with the removal of the caller’s own leases', () => {
    const removal = (detached: string) => `BEGIN;
         DELETE FROM job_lease WHERE queue = 't/q' AND job_id = ANY('{${A}}'::uuid[]) AND holder = 'i1:c1'${detached}
         RETURNING job_id AS id, retry_count AS "retryCount"`;
    expect(beginReleasingOwnLeases('t/q', 'i1:c1', [A], false)).toBe(removal(''));
    expect(beginReleasingOwnLeases('t/q', 'i1:c1', [A], true)).toBe(removal(' AND NOT detached'));
    expect(() => beginReleasingOwnLeases('t/q', 'h', ["'"], false)).toThrow('not a job id');
  });

  it('locks claims of one queue by its name, quoted', () => {
    expect(claimLock("t/it's")).toBe(`SELECT pg_advisory_xact_lock(hashtextextended('jobgate claim t/it''s', 0))`);
  });
});
