import { badInput } from '../errors.ts';
import { isUuid } from './job-input.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** A page of something, newest first, and where the next one starts. */
export interface Page<T> {
  nodes: T[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/** `first` of a paged list: BAD_USER_INPUT outside 1-`max`. */
export function pageSize(first: number | undefined, max = MAX_PAGE_SIZE, fallback = DEFAULT_PAGE_SIZE): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(`"first" must be 1-${max}`, { argument: 'first' });
  return size;
}

/** The cursor after a job of a newest-first page: its creation time (as PostgreSQL prints it) and id. */
export function encodeCursor(row: { cursor: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.cursor, row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && isUuid(value[1])) {
      return [value[0], value[1]];
    }
  } catch {
    // falls through to the input error
  }
  throw badInput('"after" is not a cursor returned by this API', { argument: 'after' });
}

/** A forged cursor whose time PostgreSQL cannot read (SQLSTATE class 22: data exception) is the caller's mistake. */
export function asCursorError(error: unknown): unknown {
  return /^22/.test((error as { code?: string } | null)?.code ?? '') ? badInput('"after" is not a cursor returned by this API', { argument: 'after' }) : error;
}
