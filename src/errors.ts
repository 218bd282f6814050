import { GraphQLError } from 'graphql';

/**
 * Every `extensions.code` the gateway answers with; docs/api.md's error table
 * lists each (test/unit/error-codes.test.ts holds the two together).
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'NOT_FOUND',
  'CONFLICT',
  'CURSOR_EXPIRED',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'QUERY_TOO_COMPLEX',
  'RESPONSE_TOO_LARGE',
  'PAYLOAD_TOO_LARGE',
  'NOT_ACCEPTABLE',
  'METHOD_NOT_ALLOWED',
  'UNSUPPORTED_SUBPROTOCOL',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An expected failure: shown to the client with its `extensions.code`, never masked. */
export function clientError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badInput = (message: string, extensions?: Record<string, unknown>) => clientError('BAD_USER_INPUT', message, extensions);
export const notFound = (message: string) => clientError('NOT_FOUND', message);
export const conflict = (message: string) => clientError('CONFLICT', message);

export function unauthenticated(): GraphQLError {
  return clientError('UNAUTHENTICATED', 'Missing, unknown, revoked or expired API token', { http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } });
}

/** A GraphQL error as a plain JSON object, for bodies written by hand. */
export const errorJson = (code: ErrorCode, message: string) => ({ message, extensions: { code } });
