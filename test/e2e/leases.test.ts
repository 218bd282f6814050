import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { Db } from 'pg-boss';
import { PreparedStatements } from '../../src/db/prepared-statements.ts';
import { Leases } from '../../src/dispatch/leases.ts';
import { testDatabaseUrl } from '../support/gateway.ts';

const FETCH = "SELECT n, 'fetched' AS state FROM generate_series(1, 3) AS n /* leases test fetch */";

describe('Leases.claim (against PostgreSQL)', () => {
  let pool: pg.Pool;
  /** One connection, so every claim and every check below sees the same session. */
  let claimPool: pg.Pool;
  let leases: Leases;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });
    claimPool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });
    leases = new Leases(pool, claimPool, new PreparedStatements());
  });

  afterAll(async () => {
    await Promise.all([pool.end(), claimPool.end()]);
  });

  const claim = (transactional: boolean) =>
    leases.claim(
      'leases-test',
      async (db) => (await db.executeSql(FETCH)).rows as { n: number; state: string }[],
      () => [],
      { transactional },
    );

  it('plans the fetch afresh on every claim: a plan kept from an empty table would scan a full one', async () => {
    const expected = [1, 2, 3].map((n) => ({ n, state: 'fetched' }));
    for (let i = 0; i < 3; i++) {
      expect(await claim(true)).toEqual(expected);
      expect(await claim(false)).toEqual(expected);
    }
    const { rows } = await claimPool.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE statement LIKE '%leases test fetch%'");
    expect(rows).toEqual([]);
    // No transaction was left open on the connection.
    expect((await claimPool.query<{ open: boolean }>('SELECT now() <> statement_timestamp() AS open')).rows[0]!.open).toBe(false);
  });
});

describe('Leases.sendAndClaim (against PostgreSQL)', () => {
  const QUEUE = 'send-and-claim-test';
  const IDS = ['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11', '0b5c4d1e-7b52-4a8e-9a55-4c7f1d2e3f40', '3d7f0c55-1e0a-4f57-8f0e-9b1c2d3e4f50'];
  let pool: pg.Pool;
  let leases: Leases;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
    leases = new Leases(pool, pool, new PreparedStatements());
    await pool.query('CREATE TABLE IF NOT EXISTS send_and_claim_test (n int PRIMARY KEY)');
  });

  afterAll(async () => {
    await pool.query('DROP TABLE send_and_claim_test');
    await pool.query('DELETE FROM job_lease WHERE queue = $1', [QUEUE]);
    await pool.end();
  });

  const send = (n: number) => async (db: Db) => (await db.executeSql('INSERT INTO send_and_claim_test (n) VALUES ($1) RETURNING n', [n])).rows[0]!.n as number;
  const fetchOf = (text: string) => async (db: Db) => (await db.executeSql(text)).rows as { id: string; retryCount: number }[];
  const fetchAll = fetchOf(`SELECT id::uuid AS id, 0 AS "retryCount" FROM unnest(ARRAY['${IDS.join("','")}']) AS id`);
  const stored = async (n: number) => (await pool.query('SELECT 1 FROM send_and_claim_test WHERE n = $1', [n])).rowCount;
  const leased = async () =>
    (await pool.query<{ id: string; holder: string }>('SELECT job_id AS id, holder FROM job_lease WHERE queue = $1 ORDER BY holder', [QUEUE])).rows;

  it('sends, fetches and records the holds in order in one transaction', async () => {
    const { sent, claimed } = await leases.sendAndClaim(QUEUE, ['h1', 'h2', 'h3'], send(1), fetchAll);
    expect(sent).toBe(1);
    expect(claimed!.map((job) => job.id).sort()).toEqual([...IDS].sort());
    expect(await leased()).toEqual(claimed!.map((job, n) => ({ id: job.id, holder: `h${n + 1}` })));
    expect(await stored(1)).toBe(1);
    await pool.query('DELETE FROM job_lease WHERE queue = $1', [QUEUE]);
  });

  it('still sends, alone, when the claim fails or cannot be prepared', async () => {
    const failing = fetchOf(`SELECT 'not a uuid'::uuid AS id, 0 AS "retryCount"`);
    expect(await leases.sendAndClaim(QUEUE, ['h1'], send(2), failing)).toEqual({ sent: 2, claimed: undefined });
    const shapeless = fetchOf('SELECT 1 AS something_else');
    expect(await leases.sendAndClaim(QUEUE, ['h1'], send(3), shapeless)).toEqual({ sent: 3, claimed: undefined });
    const before = async () => {
      throw new Error('no such queue');
    };
    expect(await leases.sendAndClaim(QUEUE, ['h1'], send(4), before)).toEqual({ sent: 4, claimed: undefined });
    expect([await stored(2), await stored(3), await stored(4)]).toEqual([1, 1, 1]);
    expect(await leased()).toEqual([]);
  });

  it('fails as the send fails, leaving nothing behind', async () => {
    await expect(leases.sendAndClaim(QUEUE, ['h1'], send(1), fetchAll)).rejects.toMatchObject({ code: '23505' });
    const early = async () => {
      throw new Error('bad input');
    };
    await expect(leases.sendAndClaim(QUEUE, ['h1'], early, fetchAll)).rejects.toThrow('bad input');
    expect(await leased()).toEqual([]);
    // The pool's connections were given back clean.
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    );
    expect(rows[0]!.n).toBe(0);
  });
});
