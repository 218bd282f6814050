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

/** How a job ended without completing. */
export type JobFailedType = 'FAILED' | 'CANCELLED' | 'DELETED';

/**
 * A job `sendAndWait` followed ended without completing: it FAILED after its
 * last attempt, was CANCELLED, or was DELETED before it finished.
 */
export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
  readonly type: JobFailedType;
  readonly queue: string;
  readonly jobId: string;
  /** Attempts retried before the last one. */
  readonly retryCount: number;
  /** Why its last attempt failed (the `failJob` error, or pg-boss's own on expiry); null unless FAILED. */
  readonly error: unknown;
  /** The job's `output` when it ended (for a failure, what pg-boss stored of it); null once deleted. */
  readonly output: unknown;

  constructor(job: { type: JobFailedType; queue: string; jobId: string; retryCount: number; error: unknown; output: unknown }) {
    const reason = typeof job.error === 'object' && job.error !== null && 'message' in job.error ? String(job.error.message) : undefined;
    super(`job ${job.jobId} of queue ${job.queue}: ${job.type}${reason === undefined ? '' : `: ${reason}`}`);
    this.type = job.type;
    this.queue = job.queue;
    this.jobId = job.jobId;
    this.retryCount = job.retryCount;
    this.error = job.error;
    this.output = job.output;
  }
}
