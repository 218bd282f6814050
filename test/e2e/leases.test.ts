import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { PreparedStatements } from '../../src/db/prepared-statements.ts';
import { Leases } from '../../src/queue/leases.ts';
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

  const claim = () =>
    leases.claim(
      'leases-test',
      async (db) => (await db.executeSql(FETCH)).rows as { n: number; state: string }[],
      () => [],
      { transactional: true },
    );

  async function preparedFetches(): Promise<string[]> {
    const { rows } = await claimPool.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE statement LIKE '%leases test fetch%'");
    return rows.map((row) => row.name);
  }

  it('runs the fetch of a transactional claim prepared once per connection, with the same rows', async () => {
    const expected = [1, 2, 3].map((n) => ({ n, state: 'fetched' }));
    for (let i = 0; i < 3; i++) expect(await claim()).toEqual(expected);
    expect(await preparedFetches()).toHaveLength(1);
  });

  it('still claims when the connection lost its prepared fetch, and prepares it again', async () => {
    await claim();
    await claimPool.query('DEALLOCATE ALL');
    expect(await claim()).toHaveLength(3);
    expect(await claim()).toHaveLength(3);
    expect(await preparedFetches()).toHaveLength(1);
    // No transaction was left open on the connection.
    expect((await claimPool.query<{ open: boolean }>("SELECT now() <> statement_timestamp() AS open")).rows[0]!.open).toBe(false);
  });
});
