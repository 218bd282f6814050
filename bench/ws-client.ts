import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** One authenticated graphql-ws connection, resolved once `connection_ack` arrived. */
export function connect(url: string, token: string, timeoutMs = 30_000): Promise<Client> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('graphql-ws connection timed out')), timeoutMs);
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: { token },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: {
        connected: () => {
          clearTimeout(timer);
          resolve(client);
        },
        closed: (event) => {
          clearTimeout(timer);
          reject(new Error(`graphql-ws connection closed: ${(event as { code?: number } | null)?.code ?? '?'}`));
        },
      },
    });
  });
}

/** Runs one query or mutation to completion; throws on GraphQL errors. */
export function execute<T = Record<string, unknown>>(client: Client, query: string, variables?: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    let data: T | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) reject(new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`));
          else data = result.data as T;
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => (data === undefined ? reject(new Error('no result')) : resolve(data)),
      },
    );
  });
}

/** Starts a subscription; `onData` gets each payload. Returns the unsubscribe function. */
export function subscribe<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  onError: (error: unknown) => void = () => {},
): () => void {
  return client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) onError(new Error(JSON.stringify(result.errors)));
        else if (result.data) onData(result.data);
      },
      error: onError,
      complete: () => {},
    },
  );
}

/** A GraphQL request over HTTP; throws on errors. */
export async function httpQuery<T = Record<string, unknown>>(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}
