import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { inlineParameters } from '../../src/db/inline-parameters.ts';
import { testDatabaseUrl } from '../support/gateway.ts';

describe('inlineParameters (against PostgreSQL)', () => {
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
  });

  /** The rows of `text` run with parameters, and run with them written in (a $n left over would fail: no values are sent). */
  async function both(text: string, values: unknown[]): Promise<[unknown[], unknown[]]> {
    const inline = inlineParameters(text, values);
    expect(inline).toBeDefined();
    const [params, inlined] = [await client.query(text, values), await client.query(inline!)];
    return [params.rows, inlined.rows];
  }

  it('means what the parameterised statement means, for the kinds of values pg-boss passes', async () => {
    const [params, inlined] = await both(
      `SELECT $1 = 'x''y' AS same_text, $2::uuid[] AS ids, $3::jsonb AS output, $4::text[] AS pairs, $5::int AS n, $6::jsonb IS NULL AS none,
              $7::timestamptz AS at, $8::boolean AS flag, $9::text[] AS odd`,
      [
        "x'y",
        ['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11', '0b5c4d1e-7b52-4a8e-9a55-4c7f1d2e3f40'],
        { message: "it's \"done\" \\ $1", list: [1, null, 'a,b'] },
        ['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11:0'],
        42,
        null,
        new Date('2026-12-01T12:34:56.789Z'),
        true,
        ['a"b', 'c\\d', 'e,f', '{g}', null, 'NULL'],
      ],
    );
    expect(inlined).toEqual(params);
    expect(params[0]).toMatchObject({ same_text: true, n: 42, none: true, odd: ['a"b', 'c\\d', 'e,f', '{g}', null, 'NULL'] });
  });

  it('leaves $n alone inside quoted literals, quoted identifiers and comments', async () => {
    const text = `SELECT '$1' AS "lit$1", $1::int AS n -- not $2
      , /* nor $2 */ 'a''$2' AS quoted`;
    const inline = inlineParameters(text, [7]);
    expect(inline).toContain(`'$1' AS "lit$1"`);
    expect(inline).toContain('-- not $2');
    expect(inline).toContain('/* nor $2 */');
    const { rows } = await client.query(inline!);
    expect(rows).toEqual([{ lit$1: '$1', n: 7, quoted: "a'$2" }]);
  });

  it('refuses what it cannot write in safely', () => {
    expect(inlineParameters('SELECT $$ $1 $$', [1])).toBeUndefined();
    expect(inlineParameters("SELECT E'\\'' || $1", ['x'])).toBeUndefined();
    expect(inlineParameters('SELECT $2', [1])).toBeUndefined();
    expect(inlineParameters('SELECT $1', [Buffer.from('x')])).toBeUndefined();
    expect(inlineParameters('SELECT $1', [[['nested']]])).toBeUndefined();
    expect(inlineParameters("SELECT 'unterminated", [])).toBeUndefined();
  });
});
