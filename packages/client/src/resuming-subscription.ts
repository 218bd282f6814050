import { JobgateError } from './errors.ts';
import type { TypedDocumentString } from './generated/documents/graphql.ts';
import { answerData, resultData, type HttpEndpoint } from './http.ts';
import { ServerSentEventParser } from './sse-parser.ts';

/** Back-off bounds between reconnects (jittered, doubling from min to max). */
export interface ReconnectDelays {
  minDelayMs: number;
  maxDelayMs: number;
}

export interface SubscriptionHandlers<TResult> {
  /** Each result, in order; the next is not read before the promise it returns settles. */
  onData(data: TResult): void | Promise<void>;
  /** What ended the subscription for good: a refusal the gateway will repeat, or a throw from `onData`. */
  onError(error: unknown): void;
  /** A drop that is retried after a pause. */
  onReconnect(error: unknown): void;
}

export interface ResumingSubscription {
  /** The cursor of the last result received (or the `after` it started from). */
  readonly cursor: string | undefined;
  /** Settles once the subscription ended: stopped, completed by the gateway, or ended by an error (given to `onError`). */
  readonly done: Promise<void>;
  /** Ends it: nothing more reaches `onData`. */
  stop(): void;
}

type Ending = { kind: 'ended' } | { kind: 'final'; error: unknown } | { kind: 'dropped'; error: unknown };

/** Refusals that may pass: the gateway is overloaded, restarting or behind a proxy that answered for it. */
function worthRetrying(error: unknown): boolean {
  if (!(error instanceof JobgateError)) return true; // the network: fetch's own error
  if (error.code === 'RATE_LIMITED' || error.code === 'SERVICE_UNAVAILABLE') return true;
  const status = error.status ?? 0;
  return error.code === undefined && (status === 429 || status >= 500);
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/**
 * A subscription over server-sent events (GraphQL over SSE, distinct
 * connections mode) that outlives its connections: it remembers the cursor of
 * each result and, when the stream drops (the network, a gateway restart, an
 * end without `complete`, a 5xx or RATE_LIMITED), subscribes again with
 * `after: <that cursor>` after a jittered back-off, so that the gateway
 * replays exactly what was missed.
 */
export function resumingSubscription<TResult, TVariables extends { after?: string | null | undefined }>(
  endpoint: HttpEndpoint,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  cursorOf: (data: TResult) => string,
  handlers: SubscriptionHandlers<TResult>,
  delays: ReconnectDelays,
): ResumingSubscription {
  const stopping = new AbortController();
  let cursor = variables.after ?? undefined;
  /** Drops in a row, with no result and no long-lived connection in between. */
  let failures = 0;

  /** One connection, until it ends. */
  const connect = async (): Promise<Ending> => {
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const hangUp = () => void reader?.cancel().catch(() => {});
    stopping.signal.addEventListener('abort', hangUp);
    try {
      const response = await endpoint.fetchImpl(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${endpoint.token}` },
        body: JSON.stringify({ query: document.toString(), variables: { ...variables, after: cursor ?? null } }),
        signal: stopping.signal,
      });
      const { status } = response;
      if (!(response.headers?.get('content-type') ?? '').startsWith('text/event-stream')) {
        await answerData(response); // throws the refusal it carries
        throw new JobgateError(`HTTP ${status}: not an event stream`, { status });
      }
      if (!response.body) return { kind: 'final', error: new JobgateError('fetchImpl answered without a body stream', { status }) };
      reader = response.body.getReader();
      if (stopping.signal.aborted) hangUp();
      const decoder = new TextDecoder();
      const parser = new ServerSentEventParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return { kind: 'dropped', error: new JobgateError('the event stream ended without "complete"', { status }) };
        for (const message of parser.push(decoder.decode(value, { stream: true }))) {
          if (message.event === 'complete') return { kind: 'ended' };
          if (message.event !== 'next') continue;
          let result: unknown;
          try {
            result = JSON.parse(message.data);
          } catch (error) {
            return { kind: 'final', error: new JobgateError('an event that is not JSON', { status, cause: error }) };
          }
          const data = resultData(result, status) as TResult;
          if (stopping.signal.aborted) return { kind: 'ended' };
          cursor = cursorOf(data);
          failures = 0;
          try {
            await handlers.onData(data);
          } catch (error) {
            return { kind: 'final', error };
          }
        }
      }
    } catch (error) {
      if (stopping.signal.aborted) return { kind: 'ended' };
      return worthRetrying(error) ? { kind: 'dropped', error } : { kind: 'final', error };
    } finally {
      stopping.signal.removeEventListener('abort', hangUp);
      hangUp();
    }
  };

  const run = async () => {
    for (;;) {
      const connected = Date.now();
      const ending = await connect();
      if (stopping.signal.aborted || ending.kind === 'ended') return;
      if (ending.kind === 'final') return handlers.onError(ending.error);
      // Only a result or a connection that lasted resets the back-off: every stream opens with a keep-alive comment.
      if (Date.now() - connected > delays.maxDelayMs) failures = 0;
      failures++;
      handlers.onReconnect(ending.error);
      const delay = Math.min(delays.maxDelayMs, delays.minDelayMs * 2 ** (failures - 1));
      await pause(delay / 2 + Math.random() * (delay / 2), stopping.signal);
      if (stopping.signal.aborted) return;
    }
  };

  const done = run().finally(() => stopping.abort());
  return {
    get cursor() {
      return cursor;
    },
    done,
    stop: () => stopping.abort(),
  };
}
