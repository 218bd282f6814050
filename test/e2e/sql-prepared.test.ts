import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { newId } from '../../src/auth/tokens.ts';
import { SqlPrepared, sqlLiteral, UNKNOWN_PREPARED_STATEMENT } from '../../src/pgboss/sql-prepared.ts';
import { testDatabaseUrl } from '../support/gateway.ts';
import { outsideBoss } from '../support/jobs.ts';

const TEXT = `SELECT $1 = 'x''y' AS same_text, $2::uuid[] AS ids, $3::jsonb AS output, $4::text[] AS pairs, $5::int AS n, $6::jsonb IS NULL AS none,
  $7::timestamptz AS at, $8::boolean AS flag, $9::text[] AS odd /* sql-prepared test */`;

const VALUES = [
  "x'y",
  ['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11', '0b5c4d1e-7b52-4a8e-9a55-4c7f1d2e3f40'],
  { message: 'it\'s "done" \\ $1', list: [1, null, 'a,b'] },
  ['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11:0'],
  42,
  null,
  new Date('2026-12-01T12:34:56.789Z'),
  true,
  ['a"b', 'c\\d', 'e,f', '{g}', null, 'NULL'],
];

describe('SqlPrepared (against PostgreSQL)', () => {
  let pool: pg.Pool;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  });

  afterAll(async () => {
    await pool.end();
  });

  async function preparedNames(client: pg.PoolClient): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE name LIKE 'jobgate_sql_%' ORDER BY name");
    return rows.map((row) => row.name);
  }

  it('runs a statement by EXECUTE with literals to the same rows as with parameters, preparing it once per connection', async () => {
    const sqlPrepared = new SqlPrepared();
    const [a, b] = [await pool.connect(), await pool.connect()];
    try {
      const expected = (await a.query(TEXT, VALUES)).rows;
      expect(expected[0]).toMatchObject({ same_text: true, n: 42, none: true, odd: ['a"b', 'c\\d', 'e,f', '{g}', null, 'NULL'] });
      for (const client of [a, a, b]) {
        const statement = await sqlPrepared.execute(client, TEXT, VALUES);
        expect(statement).toMatch(/^EXECUTE jobgate_sql_\d+\(/);
        // With other statements in one message, as the one-trip settlement sends it.
        const results = (await client.query(`BEGIN;\n${statement};\nCOMMIT`)) as unknown as pg.QueryResult[];
        expect(results[1]!.rows).toEqual(expected);
      }
      expect(await preparedNames(a)).toHaveLength(1);
      expect(await preparedNames(b)).toEqual(await preparedNames(a));
    } finally {
      a.release();
      b.release();
    }
  });

  it('prepares again on a connection that lost its statements once told so', async () => {
    const sqlPrepared = new SqlPrepared();
    const client = await pool.connect();
    try {
      const first = await sqlPrepared.execute(client, 'SELECT $1::int + 1 AS n', [1]);
      expect((await client.query(first!)).rows).toEqual([{ n: 2 }]);
      await client.query('DEALLOCATE ALL');
      const stale = await sqlPrepared.execute(client, 'SELECT $1::int + 1 AS n', [2]);
      await expect(client.query(stale!)).rejects.toMatchObject({ code: UNKNOWN_PREPARED_STATEMENT });
      sqlPrepared.forget(client);
      const again = await sqlPrepared.execute(client, 'SELECT $1::int + 1 AS n', [2]);
      expect((await client.query(again!)).rows).toEqual([{ n: 3 }]);
    } finally {
      client.release();
    }
  });

  it('keeps a bounded number of statements prepared on a connection, deallocating the least recently used', async () => {
    const sqlPrepared = new SqlPrepared();
    const client = await pool.connect();
    try {
      await client.query('DEALLOCATE ALL');
      const text = (n: number) => `SELECT ${n} AS n /* queue ${n} */`;
      const first = await sqlPrepared.execute(client, text(0), []);
      for (let n = 1; n < 40; n++) {
        expect((await client.query((await sqlPrepared.execute(client, text(n), [])) as string)).rows).toEqual([{ n }]);
        // Used again and again, the first text stays prepared under the same name.
        expect(await sqlPrepared.execute(client, text(0), [])).toBe(first);
      }
      const names = await preparedNames(client);
      expect(names).toHaveLength(32);
      expect(names).toContain(first!.replace('EXECUTE ', ''));
      expect((await client.query(first!)).rows).toEqual([{ n: 0 }]);
    } finally {
      client.release();
    }
  });

  it('declines what it cannot write as literals or prepare', async () => {
    expect(sqlLiteral(Buffer.from('x'))).toBeUndefined();
    expect(sqlLiteral([['nested']])).toBeUndefined();
    expect(sqlLiteral([{ a: 1 }])).toBeUndefined();
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral("it's")).toBe("'it''s'");
    const client = await pool.connect();
    try {
      expect(await new SqlPrepared().execute(client, 'SELECT 1; SELECT 2', [])).toBeUndefined();
      expect(await new SqlPrepared().execute(client, 'SELECT $1', [Buffer.from('x')])).toBeUndefined();
    } finally {
      client.release();
    }
  });

  it('shares one statement between queues whose names are written into the text', async () => {
    const sqlPrepared = new SqlPrepared();
    const client = await pool.connect();
    try {
      const tenant = newId('t');
      const before = new Set(await preparedNames(client));
      const names = new Set<string>();
      for (let n = 0; n < 40; n++) {
        const queue = `${tenant}/q${n}`;
        const statement = await sqlPrepared.execute(client, `SELECT '${queue}' AS name, $1::int AS n /* sql-prepared queues */`, [n]);
        const [row] = (await client.query<{ name: string; n: number }>(statement!)).rows;
        expect(row).toEqual({ name: queue, n });
        for (const name of await preparedNames(client)) if (!before.has(name)) names.add(name);
      }
      expect(names.size).toBe(1);
    } finally {
      client.release();
    }
  });

  it("prepares pg-boss's insert once for every queue, and each job lands in its own queue", async () => {
    const boss = outsideBoss();
    await boss.start();
    const sqlPrepared = new SqlPrepared();
    const client = await pool.connect();
    try {
      const tenant = newId('t');
      const ran: string[] = [];
      for (let n = 0; n < 3; n++) {
        const queue = `${tenant}/q${n}`;
        await boss.createQueue(queue);
        const db = {
          executeSql: async (text: string, values: unknown[] = []) => {
            const statement = await sqlPrepared.execute(client, text, values);
            if (!statement) throw new Error(`not prepared: ${text.slice(0, 80)}`);
            ran.push(statement.slice(0, statement.indexOf('(')));
            return client.query(statement);
          },
        };
        await boss.insert(queue, [{ data: { n } }], { db });
      }
      expect(new Set(ran).size).toBe(1);
      const { rows } = await pool.query<{ name: string; n: number }>("SELECT name, (data->>'n')::int AS n FROM pgboss.job WHERE name LIKE $1 ORDER BY n", [
        `${tenant}/%`,
      ]);
      expect(rows).toEqual([0, 1, 2].map((n) => ({ name: `${tenant}/q${n}`, n })));
    } finally {
      client.release();
      await boss.stop({ graceful: false });
    }
  });
});
