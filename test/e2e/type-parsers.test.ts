import { describe, expect, it } from '@jest/globals';
import { builtinParser, parseTimestamptz, parseUuidArray } from '../../src/db/type-parsers.ts';
import { useTestClient } from '../support/gateway.ts';

const general = builtinParser(1184);
const generalUuidArray = builtinParser(2951);

describe('parseTimestamptz (against PostgreSQL output)', () => {
  const client = useTestClient();

  it('reads every timestamptz PostgreSQL writes as node-postgres does, in any session time zone', async () => {
    const values = [
      'now()',
      "'2026-12-01 23:27:02.561234+00'",
      "'2026-12-01 23:27:02.5+00'",
      "'2026-12-01 23:27:02.999999+00'",
      "'2026-12-01 23:27:02+00'",
      "'2024-02-29 00:00:00.000001+00'",
      "'1970-01-01 00:00:00+00'",
      "'1969-12-31 23:59:59.9+00'",
      "'1900-06-01 12:00:00+00'", // local mean time in some zones: offsets with seconds
      "'0050-03-01 00:00:00+00'",
      "'0001-01-01 00:00:00+00'",
      "'0044-03-15 12:00:00+00 BC'",
      "'9999-12-31 23:59:59.999999+00'",
      "'20000-01-01 00:00:00+00'",
      "'infinity'",
      "'-infinity'",
    ];
    const zones = ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Asia/Kathmandu', 'Europe/Amsterdam', 'Pacific/Chatham', 'America/Los_Angeles'];
    let compared = 0;
    for (const zone of zones) {
      await client.query(`SET TIME ZONE '${zone}'`);
      const { rows } = await client.query<Record<string, string>>({
        text: `SELECT ${values.map((value, i) => `(${value})::timestamptz::text AS v${i}`).join(', ')}`,
      });
      for (const text of Object.values(rows[0]!)) {
        const expected = general(text);
        const actual = parseTimestamptz(text);
        expect([text, actual instanceof Date ? actual.getTime() : actual]).toEqual([text, expected instanceof Date ? expected.getTime() : expected]);
        compared++;
      }
    }
    expect(compared).toBe(values.length * zones.length);
  });

  it('hands what it does not read itself to the general parser', () => {
    for (const text of [
      '2026-12-01',
      '2026-12-01 23:27:02',
      '2026-12-01T23:27:02Z',
      '2026-12-01 23:27:02.+00',
      '2026-12-01 23:27:02+0x',
      'garbage at all!!!!!!!',
    ]) {
      const expected = general(text);
      const actual = parseTimestamptz(text);
      expect(actual instanceof Date && !Number.isNaN(actual.getTime()) ? actual.getTime() : String(actual)).toEqual(
        expected instanceof Date && !Number.isNaN(expected.getTime()) ? expected.getTime() : String(expected),
      );
    }
  });

  it('reads uuid[] as node-postgres does', async () => {
    const { rows } = await client.query<Record<string, string>>(`SELECT
      '{}'::uuid[]::text AS empty,
      ARRAY['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11']::uuid[]::text AS one,
      ARRAY['6F1C1F5E-9A3F-4C59-9C1A-0C0B7C7BCF11', '0b5c4d1e-7b52-4a8e-9a55-4c7f1d2e3f40']::uuid[]::text AS two,
      ARRAY['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11', NULL]::uuid[]::text AS with_null,
      ARRAY[ARRAY['6f1c1f5e-9a3f-4c59-9c1a-0c0b7c7bcf11'::uuid]]::text AS nested`);
    for (const text of Object.values(rows[0]!)) expect([text, parseUuidArray(text)]).toEqual([text, generalUuidArray(text)]);
  });
});
