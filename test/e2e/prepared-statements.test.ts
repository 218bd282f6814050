import { describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { newId } from '../../src/auth/tokens.ts';
import { PreparedStatements } from '../../src/db/prepared-statements.ts';
import { queueNamesAsParameters } from '../../src/db/queue-name-parameters.ts';
import { useTestClient } from '../support/gateway.ts';
import { useOutsideBoss } from '../support/jobs.ts';

/** The statements PostgreSQL holds prepared on this connection. */
async function preparedOn(client: pg.Client): Promise<{ name: string; statement: string }[]> {
  const { rows } = await client.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements ORDER BY prepare_time');
  return rows;
}

describe('PreparedStatements (against PostgreSQL)', () => {
  const client = useTestClient();

  it('prepares a parameterised text from its second run on, once per connection, with the right results', async () => {
    const statements = new PreparedStatements({ capacity: 8, threshold: 2 });
    const db = statements.db(client);
    const text = 'SELECT $1::int + 1 AS n /* prepared-statements test A */';
    const results: number[] = [];
    for (let i = 0; i < 5; i++) results.push((await db.executeSql(text, [i])).rows[0].n as number);
    expect(results).toEqual([1, 2, 3, 4, 5]);
    const prepared = (await preparedOn(client)).filter((row) => row.statement.includes('test A'));
    expect(prepared).toHaveLength(1);
    expect(prepared[0]!.name).toMatch(/^jobgate_/);
    expect(statements.size).toBe(1);
  });

  it('never prepares texts without parameters (they may hold several statements)', async () => {
    const statements = new PreparedStatements({ capacity: 8, threshold: 1 });
    const db = statements.db(client);
    for (let i = 0; i < 3; i++) await db.executeSql('SELECT 1 /* test B */; SELECT 2 /* test B */');
    expect((await preparedOn(client)).filter((row) => row.statement.includes('test B'))).toHaveLength(0);
    expect(statements.size).toBe(0);
  });

  it('keeps at most `capacity` texts named and names an evicted text afresh when it returns', async () => {
    const statements = new PreparedStatements({ capacity: 2, threshold: 1 });
    const texts = ['C1', 'C2', 'C3'].map((tag) => `SELECT $1::text AS v /* test ${tag} */`);
    const names = texts.map((text) => statements.config(text, ['x']).name);
    expect(new Set(names).size).toBe(3);
    expect(statements.size).toBe(2);
    // C1 was the least recently used: it was evicted, so it comes back under a new name.
    const again = statements.config(texts[0]!, ['x']).name;
    expect(again).toBeDefined();
    expect(again).not.toBe(names[0]);
    // C3 was kept: same name.
    expect(statements.config(texts[2]!, ['x']).name).toBe(names[2]);
    for (const text of texts) expect((await client.query(statements.config(text, ['y']))).rows).toEqual([{ v: 'y' }]);
  });

  it('re-plans a prepared statement when the table under it is dropped and created again', async () => {
    const statements = new PreparedStatements({ capacity: 8, threshold: 1 });
    const db = statements.db(client);
    await client.query('CREATE TABLE prepared_probe (id int, v text)');
    await client.query("INSERT INTO prepared_probe VALUES (1, 'a')");
    const text = 'SELECT v FROM prepared_probe WHERE id = $1';
    expect((await db.executeSql(text, [1])).rows).toEqual([{ v: 'a' }]);
    await client.query('DROP TABLE prepared_probe');
    await client.query('CREATE TABLE prepared_probe (id int, v text)');
    await client.query("INSERT INTO prepared_probe VALUES (1, 'b')");
    expect((await db.executeSql(text, [1])).rows).toEqual([{ v: 'b' }]);
    await client.query('DROP TABLE prepared_probe');
  });

  describe('queue names written into a text', () => {
    const boss = useOutsideBoss();

    it('become parameters: one text, and one prepared statement, serves every queue', () => {
      const tenant = newId('t');
      const text = `INSERT INTO job (name, data) SELECT '${tenant}/a' AS name, $1 FROM queue q WHERE q.name = '${tenant}/a' OR q.name = '${tenant}/b.c/d'`;
      expect(queueNamesAsParameters(text, ['data'])).toEqual({
        text: 'INSERT INTO job (name, data) SELECT $2::text AS name, $1 FROM queue q WHERE q.name = $2::text OR q.name = $3::text',
        values: ['data', `${tenant}/a`, `${tenant}/b.c/d`],
      });
      // Inside another literal (a function body), or not a tenant's queue: left as written.
      expect(queueNamesAsParameters(`SELECT $1, 'DO ''${tenant}/a'' ', 'created', 'x/y'`, [1])).toBeNull();
    });

    it("inserts pg-boss's jobs into 40 queues through one prepared insert", async () => {
      const statements = new PreparedStatements({ capacity: 8, threshold: 2 });
      const db = statements.db(client);
      const tenant = newId('t');
      const queues = Array.from({ length: 40 }, (_, n) => `${tenant}/q${n}`);
      for (const queue of queues) await boss.createQueue(queue);
      for (const round of [1, 2]) for (const queue of queues) await boss.insert(queue, [{ data: { queue, round } }], { db });
      const { rows } = await client.query<{ name: string; queue: string; round: number }>(
        "SELECT name, data->>'queue' AS queue, (data->>'round')::int AS round FROM pgboss.job WHERE name LIKE $1 ORDER BY name, round",
        [`${tenant}/%`],
      );
      expect(rows).toHaveLength(80);
      for (const row of rows) expect(row.name).toBe(row.queue);
      const inserts = (await preparedOn(client)).filter((row) => row.statement.includes('INSERT INTO') && row.statement.includes('.job'));
      expect(inserts).toHaveLength(1);
      expect(inserts[0]!.statement).not.toContain(tenant);
      expect(statements.size).toBe(1);
    });
  });
});
