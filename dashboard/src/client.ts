import { createClient as createWsClient, type Client as WsClient, type ExecutionResult, type Sink } from 'graphql-ws';
import { cacheExchange, Client, fetchExchange, mapExchange, subscriptionExchange, type CombinedError } from 'urql';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** graphql-ws closes with 4403 when the gateway refuses the token (unknown, revoked, expired). */
export const CLOSE_TOKEN_REFUSED = 4403;

export function graphqlUrl(): string {
  return new URL('/graphql', window.location.origin).toString();
}

export function graphqlWsUrl(): string {
  const url = new URL('/graphql', window.location.origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function fetchOptions(token: string): RequestInit {
  return {
    headers: {
      authorization: `Bearer ${token}`,
      // Marks the request as a script's, not a cross-site form post.
      'x-graphql-yoga-csrf': 'jobgate-dashboard',
    },
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  };
}

/** Queries and mutations over HTTP only: used to check a token before signing in. */
export function createHttpClient(token: string): Client {
  return new Client({ url: graphqlUrl(), exchanges: [fetchExchange], fetchOptions: fetchOptions(token), preferGetMethod: false });
}

export interface Connection {
  client: Client;
  /**
   * A subscription over the socket that outlives its drops: each time the
   * socket reconnects it is sent again, with the variables `variables()`
   * returns then (a stream resumes after the last event it delivered). The
   * unsubscribe function.
   */
  subscribe<T>(query: string, variables: () => Record<string, unknown>, sink: Sink<ExecutionResult<T>>): () => void;
  /** Calls `listener` each time the socket has connected again after a drop, before subscriptions are sent again. */
  onReconnected(listener: () => void): () => void;
  dispose(): void;
}

export interface ConnectionEvents {
  onStatus(status: LiveStatus): void;
  /** The gateway refused the token (socket closed with 4403, or HTTP 401): it was revoked or expired meanwhile. */
  onRefused(): void;
}

function isCloseEvent(value: unknown): value is CloseEvent {
  return typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'number';
}

/**
 * The dashboard's GraphQL client: queries and mutations over HTTP with
 * `Authorization: Bearer`, subscriptions over one graphql-ws socket whose
 * connection_init carries `{ token }`. The socket reconnects by itself.
 */
export function connect(token: string, events: ConnectionEvents): Connection {
  let connectedBefore = false;
  const reconnected = new Set<() => void>();
  const ws: WsClient = createWsClient({
    url: graphqlWsUrl(),
    connectionParams: { token },
    lazy: true,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (reason) => !(isCloseEvent(reason) && reason.code === CLOSE_TOKEN_REFUSED),
    on: {
      connecting: () => events.onStatus(connectedBefore ? 'reconnecting' : 'connecting'),
      connected: () => {
        events.onStatus('live');
        // graphql-ws sends the subscriptions again once this returns.
        if (connectedBefore) for (const listener of reconnected) listener();
        connectedBefore = true;
      },
      closed: (reason) => {
        if (isCloseEvent(reason) && reason.code === CLOSE_TOKEN_REFUSED) events.onRefused();
        else events.onStatus(connectedBefore ? 'reconnecting' : 'offline');
      },
    },
  });
  const client = new Client({
    url: graphqlUrl(),
    preferGetMethod: false,
    fetchOptions: fetchOptions(token),
    exchanges: [
      cacheExchange,
      mapExchange({
        onError: (error) => {
          if (isUnauthenticated(error)) events.onRefused();
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
        },
      }),
    ],
  });
  return {
    client,
    subscribe: <T>(query: string, variables: () => Record<string, unknown>, sink: Sink<ExecutionResult<T>>) =>
      // graphql-ws serializes the same payload each time it subscribes: a getter makes it read the variables anew.
      ws.subscribe<T>(
        {
          query,
          get variables() {
            return variables();
          },
        },
        sink,
      ),
    onReconnected: (listener) => {
      reconnected.add(listener);
      return () => {
        reconnected.delete(listener);
      };
    },
    dispose: () => {
      void ws.dispose();
    },
  };
}

/** True when the gateway answered 401 / UNAUTHENTICATED. */
export function isUnauthenticated(error: CombinedError | undefined): boolean {
  if (!error) return false;
  if (error.response && (error.response as Response).status === 401) return true;
  return error.graphQLErrors.some((e) => e.extensions.code === 'UNAUTHENTICATED');
}

/** A short, human message for an operation's error. */
export function errorMessage(error: CombinedError): string {
  const first = error.graphQLErrors[0];
  if (first) return first.message;
  if (error.networkError) return `Could not reach the gateway (${error.networkError.message}).`;
  return error.message;
}
