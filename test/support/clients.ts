import { afterAll } from '@jest/globals';
import { createClient, type Client, type ExecutionResult, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

export interface HttpGraphqlResponse<T = Record<string, unknown>> {
  status: number;
  body: ExecutionResult<T> & { errors?: { message: string; extensions?: { code?: string } }[] };
}

/** A GraphQL request over HTTP, as any HTTP client would send it. */
export async function httpGraphql<T = Record<string, unknown>>(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<HttpGraphqlResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, body: (await response.json()) as HttpGraphqlResponse<T>['body'] };
}

/** Data of a successful request; fails the test with the errors otherwise. */
export async function gqlData<T = Record<string, any>>(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const { body } = await httpGraphql<T>(url, token, query, variables);
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

/** The first error code of a request expected to fail. */
export async function gqlErrorCode(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<string | undefined> {
  const { body } = await httpGraphql(url, token, query, variables);
  return body.errors?.[0]?.extensions?.code;
}

export function wsClient(url: string, connectionParams: Record<string, unknown> | undefined, extra: Partial<Parameters<typeof createClient>[0]> = {}): Client {
  return createClient({ url, webSocketImpl: WebSocket, connectionParams, lazy: true, retryAttempts: 0, ...extra });
}

/** A factory of graphql-ws clients for the enclosing test file, each disposed after its tests. */
export function useWsClients(): (url: string, token: string) => Client {
  const clients: Client[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
  });
  return (url, token) => {
    const client = wsClient(url, { token });
    clients.push(client);
    return client;
  };
}

/** Runs one operation to completion over graphql-ws. */
export function wsExecute<T = Record<string, any>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<FormattedExecutionResult<T, unknown>> {
  return new Promise((resolve, reject) => {
    let result: FormattedExecutionResult<T, unknown> | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => (result = value),
        error: reject,
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}
