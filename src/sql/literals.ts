import pg from 'pg';

/**
 * Values written into statement text, for statements that travel with
 * others in one simple-protocol message (which carries no parameters).
 * Ids and integers are checked, not escaped: anything else is refused.
 */
export const { escapeLiteral } = pg;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuidArray(ids: readonly string[]): string {
  for (const id of ids) if (!UUID.test(id)) throw new Error(`not a job id: ${id}`);
  return `'{${ids.join(',')}}'::uuid[]`;
}

export function textArray(values: readonly string[]): string {
  return `ARRAY[${values.map((value) => escapeLiteral(value)).join(',')}]::text[]`;
}

export function intArray(values: readonly number[]): string {
  for (const value of values) if (!Number.isInteger(value)) throw new Error(`not an integer: ${value}`);
  return `'{${values.join(',')}}'::int[]`;
}

export function integerLiteral(value: number): string {
  if (!Number.isInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}
