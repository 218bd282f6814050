import type { ExecutionResult, GraphQLFormattedError } from 'graphql';

/** An error as a client may see it: Yoga's internal `http` and `unexpected` extensions stay inside. */
function formatError(error: { toJSON?: () => GraphQLFormattedError } & GraphQLFormattedError): GraphQLFormattedError {
  const formatted = typeof error.toJSON === 'function' ? error.toJSON() : error;
  if (!formatted.extensions) return formatted;
  const { http: _http, unexpected: _unexpected, ...extensions } = formatted.extensions;
  return { ...formatted, extensions: Object.keys(extensions).length ? extensions : undefined };
}

/** A result as it is written to an HTTP stream. */
export function clientResult(result: ExecutionResult): ExecutionResult | (Omit<ExecutionResult, 'errors'> & { errors: GraphQLFormattedError[] }) {
  const errors = result.errors?.map((error) => formatError(error));
  return errors ? { ...result, errors } : result;
}
