import { isGraphQLError, JobgateError } from './errors.ts';
import type { FetchLike, FetchResponse } from './fetch-like.ts';
import type { TypedDocumentString } from './generated/documents/graphql.ts';

export interface HttpEndpoint {
  url: string;
  token: string;
  fetchImpl: FetchLike;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One GraphQL result's `data`; throws a JobgateError when it has errors. `status`: the HTTP status it came with. */
export function resultData(result: unknown, status: number): Record<string, unknown> {
  if (!isRecord(result)) throw new JobgateError(`HTTP ${status}: not a GraphQL answer`, { status });
  const errors = Array.isArray(result.errors) ? result.errors.filter(isGraphQLError) : [];
  if (errors.length > 0) throw JobgateError.fromErrors(errors, status);
  if (!isRecord(result.data)) throw new JobgateError(`HTTP ${status}: an answer without data`, { status });
  return result.data;
}

/** A JSON answer's `data`; throws a JobgateError when it is not JSON or has errors. */
export async function answerData(response: FetchResponse): Promise<Record<string, unknown>> {
  const { status } = response;
  const body = await response.json().catch((error: unknown) => {
    throw new JobgateError(`HTTP ${status}: the answer is not JSON`, { status, cause: error });
  });
  return resultData(body, status);
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
  return (await answerData(response)) as TResult;
}
