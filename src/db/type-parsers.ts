import pg from 'pg';

const TIMESTAMPTZ_OID = 1184;
const UUID_ARRAY_OID = 2951;

type TextParser = (text: string) => unknown;

/** node-postgres's own text parser for a type (its typings list only some type ids). */
export const builtinParser = (oid: number): TextParser => (pg.types.getTypeParser as (oid: number, format: 'text') => TextParser)(oid, 'text');

const generalTimestamptz = builtinParser(TIMESTAMPTZ_OID);
const generalUuidArray = builtinParser(UUID_ARRAY_OID);

/** The number in text[from, to), or -1 when a character there is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * A timestamptz as PostgreSQL writes it with DateStyle ISO
 * ("2026-12-01 23:27:02.561234+00", "...+05:30"), read by hand. node-postgres's
 * general parser runs several regular expressions per value, and every job a
 * claim fetches carries seven timestamps. Anything else (infinity, BC dates,
 * years outside 100-9999, offsets with seconds) goes to the general parser,
 * so the result is always the same Date.
 */
export function parseTimestamptz(text: string): unknown {
  const general = () => generalTimestamptz(text);
  if (text.length < 22 || text[4] !== '-' || text[7] !== '-' || text[10] !== ' ' || text[13] !== ':' || text[16] !== ':') return general();
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  if (year < 100 || month < 1 || day < 0 || hour < 0 || minute < 0 || second < 0) return general();
  let at = 19;
  let ms = 0;
  if (text[at] === '.') {
    const from = ++at;
    while (at < text.length && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57) at++;
    if (at === from) return general();
    // Truncated to whole milliseconds, as the general parser's Date does.
    ms = digits(`${text.slice(from, Math.min(at, from + 3))}00`, 0, 3);
  }
  const sign = text[at] === '+' ? 1 : text[at] === '-' ? -1 : 0;
  const offsetHours = digits(text, at + 1, at + 3);
  if (sign === 0 || offsetHours < 0) return general();
  let offsetMinutes = 0;
  if (at + 3 < text.length) {
    if (text[at + 3] !== ':' || at + 6 !== text.length) return general();
    offsetMinutes = digits(text, at + 4, at + 6);
    if (offsetMinutes < 0) return general();
  } else if (at + 3 !== text.length) {
    return general();
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return new Date(utc - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
}

/**
 * A uuid[] ("{6f1c…,0b5c…}"): uuids are never quoted, so a one-dimensional
 * array without NULLs is its elements between commas (pg-boss answers every
 * settlement with the ids it settled). Anything else goes to the general parser.
 */
export function parseUuidArray(text: string): unknown {
  if (text === '{}') return [];
  if (text[0] !== '{' || text[1] === '{' || text.includes('NULL') || text.includes('"')) return generalUuidArray(text);
  return text.slice(1, -1).split(',');
}

/** node-postgres type parsers for the gateway's pools: its defaults, with timestamptz and uuid[] read by hand. */
export const gatewayTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format !== 'binary' && oid === TIMESTAMPTZ_OID) return parseTimestamptz;
    if (format !== 'binary' && oid === UUID_ARRAY_OID) return parseUuidArray;
    return pg.types.getTypeParser(oid, format as 'text') as (value: string) => unknown;
  }) as pg.CustomTypesConfig['getTypeParser'],
};
