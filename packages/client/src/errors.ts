/** One GraphQL error as the gateway sends it. */
export interface GraphQLErrorLike {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { readonly [key: string]: unknown };
}

export function isGraphQLError(value: unknown): value is GraphQLErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

export interface JobgateErrorOptions {
  errors?: readonly GraphQLErrorLike[];
  /** HTTP status of the answer (producer requests only). */
  status?: number;
  cause?: unknown;
}

/**
 * The gateway refused a request. `code` is the first error's `extensions.code`:
 * UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, CONFLICT, RATE_LIMITED,
 * or undefined when the answer carried none (an unexpected server error, a
 * non-GraphQL HTTP answer).
 */
export class JobgateError extends Error {
  override readonly name = 'JobgateError';
  readonly code: string | undefined;
  readonly errors: readonly GraphQLErrorLike[];
  readonly status: number | undefined;

  constructor(message: string, options: JobgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.errors = options.errors ?? [];
    const code = this.errors[0]?.extensions?.code;
    this.code = typeof code === 'string' ? code : undefined;
    this.status = options.status;
  }

  /** From the `errors` of a GraphQL answer (at least one). */
  static fromErrors(errors: readonly GraphQLErrorLike[], status?: number): JobgateError {
    return new JobgateError(errors[0]?.message ?? 'GraphQL error', { errors, status });
  }
}

/** GraphQL errors as graphql-ws reports them (an array) become a JobgateError; anything else (a close event) stays as it is. */
export function asJobgateError(error: unknown): unknown {
  return Array.isArray(error) && error.length > 0 && error.every(isGraphQLError) ? JobgateError.fromErrors(error) : error;
}
