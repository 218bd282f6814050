import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type FetchAPI, type Plugin } from 'graphql-yoga';
import { errorJson } from '../errors.ts';
import { clientResult } from './client-result.ts';

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

function payloadPart(result: ExecutionResult): string {
  return part(JSON.stringify({ payload: clientResult(result) }));
}

/**
 * Apollo's multipart subscription protocol: each result is a part
 * `{"payload": result}`, a `{}` part is a heartbeat, and a transport failure
 * is `{"payload": null, "errors": [...]}` before the closing delimiter. A part
 * is complete only when the next delimiter arrives, so every part ends with one.
 */
function multipartResponse(result: AsyncIterable<ExecutionResult>, fetchAPI: FetchAPI): Response {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = result[Symbol.asyncIterator]();
  let heartbeat: NodeJS.Timeout | undefined;
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(DELIMITER));
      heartbeat = setInterval(() => {
        if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(part('{}')));
      }, MULTIPART_HEARTBEAT_MS);
    },
    async pull(controller) {
      let next: IteratorResult<ExecutionResult>;
      try {
        next = await iterator.next();
      } catch {
        // Yoga turns resolver errors into results; what still throws is an aborted or broken stream.
        next = { done: true, value: undefined };
        controller.enqueue(
          encoder.encode(part(JSON.stringify({ payload: null, errors: [errorJson('INTERNAL_SERVER_ERROR', 'The subscription stream failed.')] }))),
        );
      }
      if (!next.done) {
        controller.enqueue(encoder.encode(payloadPart(next.value)));
        return;
      }
      clearInterval(heartbeat);
      controller.enqueue(encoder.encode('--\r\n'));
      controller.close();
    },
    async cancel() {
      clearInterval(heartbeat);
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(body, { status: 200, headers: { 'content-type': CONTENT_TYPE, 'cache-control': 'no-cache' } });
}

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
      setResultProcessor((stream, fetchAPI) => multipartResponse(stream as AsyncIterable<ExecutionResult>, fetchAPI), 'multipart/mixed');
    },
  };
}
