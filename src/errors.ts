import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'QUERY_TOO_COMPLEX'
  | 'RESPONSE_TOO_LARGE';

/** An expected failure: shown to the client with its `extensions.code`, never masked. */
export function clientError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badInput = (message: string, extensions?: Record<string, unknown>) =>
  clientError('BAD_USER_INPUT', message, extensions);
export const notFound = (message: string) => clientError('NOT_FOUND', message);
export const conflict = (message: string) => clientError('CONFLICT', message);

export function unauthenticated(): GraphQLError {
  return new GraphQLError('Missing, unknown, revoked or expired API token', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}
