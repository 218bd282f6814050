import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { clientResult } from './client-result.ts';
import { STREAM_FAILED, streamResponse, type StreamFraming } from './result-stream.ts';

/** As Apollo's router does: a silent connection looks dead to clients and proxies. */
export const MULTIPART_HEARTBEAT_MS = 5_000;
const BOUNDARY = 'graphql';
const CONTENT_TYPE = `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`;
const PART_HEAD = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';
const DELIMITER = `\r\n--${BOUNDARY}`;

/**
 * Whether the request asks for Apollo's multipart subscription protocol:
 * `multipart/mixed` with `subscriptionSpec=1.0` (quoted or not) in its Accept.
 * Yoga's own multipart answer (incremental delivery) is a different protocol.
 */
export function acceptsMultipartSubscription(accept: string | null): boolean {
  return (accept ?? '').split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === 'multipart/mixed' && params.some((param) => param.replace(/"/g, '') === 'subscriptionspec=1.0');
  });
}

function part(json: string): string {
  return `${PART_HEAD}${json}${DELIMITER}`;
}

/**
 * Apollo's multipart subscription protocol: each result is a part
 * `{"payload": result}`, a `{}` part is a heartbeat, and a transport failure
 * is `{"payload": null, "errors": [...]}` before the closing delimiter. A part
 * is complete only when the next delimiter arrives, so every part ends with one.
 */
const MULTIPART_FRAMING: StreamFraming = {
  opening: DELIMITER,
  keepAlive: part('{}'),
  keepAliveMs: MULTIPART_HEARTBEAT_MS,
  result: (result) => part(JSON.stringify({ payload: clientResult(result) })),
  failure: part(JSON.stringify({ payload: null, errors: [STREAM_FAILED] })),
  closing: '--\r\n',
  headers: { 'content-type': CONTENT_TYPE, 'cache-control': 'no-cache' },
};

/**
 * Serves subscriptions over HTTP to Apollo's `HttpLink` (and Apollo's other
 * clients) in its multipart protocol; Yoga offers only SSE for subscriptions
 * and its own multipart format for incremental delivery, so this is written
 * here. Only streams are taken: a refused subscription stays a JSON answer.
 */
export function useMultipartSubscriptions(): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (!isAsyncIterable(result) || !acceptsMultipartSubscription(request.headers.get('accept'))) return;
      setResultProcessor((stream, fetchAPI) => streamResponse(stream as AsyncIterable<ExecutionResult>, fetchAPI, MULTIPART_FRAMING), 'multipart/mixed');
    },
  };
}
