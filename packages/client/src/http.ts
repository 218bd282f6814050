import { isGraphQLError, JobgateError } from './errors.ts';
import type { FetchLike } from './fetch-like.ts';
import type { TypedDocumentString } from './generated/documents/graphql.ts';

export interface HttpEndpoint {
  url: string;
  token: string;
  fetchImpl: FetchLike;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** POSTs one operation to the gateway; resolves with its `data`, rejects with a JobgateError when it has errors. */
export async function postOperation<TResult, TVariables>(
  endpoint: HttpEndpoint,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const response = await endpoint.fetchImpl(endpoint.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${endpoint.token}`,
    },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const { status } = response;
  const body = await response.json().catch((error: unknown) => {
    throw new JobgateError(`HTTP ${status}: the answer is not JSON`, { status, cause: error });
  });
  if (!isRecord(body)) throw new JobgateError(`HTTP ${status}: not a GraphQL answer`, { status });
  const errors = Array.isArray(body.errors) ? body.errors.filter(isGraphQLError) : [];
  if (errors.length > 0) throw JobgateError.fromErrors(errors, status);
  if (!isRecord(body.data)) throw new JobgateError(`HTTP ${status}: an answer without data`, { status });
  return body.data as TResult;
}
