import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { clientResult } from './client-result.ts';
import { acceptsMultipartSubscription } from './multipart-subscriptions.ts';
import { STREAM_FAILED, streamResponse, type StreamFraming } from './result-stream.ts';

/** As Yoga's own SSE answer: a comment line keeps proxies from closing a quiet stream. */
const PING_MS = 12_000;

/** A symbol, so that the copies plugins make of a result (Object.assign) keep it, and JSON leaves it out. */
const EVENT_ID = Symbol('jobgate.eventId');
type StreamedResult = ExecutionResult & { [EVENT_ID]?: string; stringify?: () => string };

/** Gives a subscription result the id its server-sent event carries (a job event's cursor). */
export function setEventId(result: ExecutionResult, id: string): void {
  (result as StreamedResult)[EVENT_ID] = id;
}

/** Whether a subscription's source event carries a cursor (a JobEvent). */
export function cursorOf(source: unknown): string | undefined {
  if (typeof source !== 'object' || source === null || !('cursor' in source)) return undefined;
  return typeof source.cursor === 'string' ? source.cursor : undefined;
}

/** Event ids are a line of their own: nothing in them may end it. */
const SAFE_ID = /^[A-Za-z0-9_-]+$/;

const SSE_FRAMING: StreamFraming = {
  // Some browsers wait for a first byte before they report the stream open.
  opening: ':\n\n',
  keepAlive: ':\n\n',
  keepAliveMs: PING_MS,
  result(result: StreamedResult) {
    const id = result[EVENT_ID];
    const idLine = id !== undefined && SAFE_ID.test(id) ? `id: ${id}\n` : '';
    // The JSON the response-size bound already made, when it made one.
    const json = result.stringify?.() ?? JSON.stringify(clientResult(result));
    return `${idLine}event: next\ndata: ${json}\n\n`;
  },
  failure: `event: next\ndata: ${JSON.stringify({ errors: [STREAM_FAILED] })}\n\n`,
  closing: 'event: complete\ndata:\n\n',
  headers: { 'content-type': 'text/event-stream', connection: 'keep-alive', 'cache-control': 'no-cache', 'content-encoding': 'none' },
};

/**
 * Server-sent events (GraphQL over SSE, distinct connections) written as
 * Yoga writes them, plus an `id:` line with each job event's cursor, so that
 * an EventSource's reconnect (Last-Event-ID) resumes where it was. Replaces
 * Yoga's writer for every stream it would have answered as SSE.
 */
export function useSseEventIds(): Plugin {
  return {
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      if (!resultProcessor || !isAsyncIterable(result) || acceptsMultipartSubscription(request.headers.get('accept'))) return;
      setResultProcessor((stream, fetchAPI) => streamResponse(stream as AsyncIterable<ExecutionResult>, fetchAPI, SSE_FRAMING), 'text/event-stream');
    },
  };
}
