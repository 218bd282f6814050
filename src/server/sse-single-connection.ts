import type { Plugin } from 'graphql-yoga';
import { errorJson } from '../errors.ts';

const REFUSAL = JSON.stringify({
  errors: [
    errorJson(
      'METHOD_NOT_ALLOWED',
      "graphql-sse's single connection mode (a stream reserved with PUT) is not served: use its distinct connections mode " +
        '(singleConnection: false, the default), where each subscription is its own GET or POST with Accept: text/event-stream',
    ),
  ],
});

/**
 * Refuses graphql-sse's single connection mode with a message that says so
 * (Yoga's own 405 names only the methods). Its server keeps the messages of a
 * reserved stream in an unbounded queue while the client does not read, and
 * a reservation that is never connected for ever: distinct connections are
 * Yoga's SSE, which stops reading a subscription while its client lags.
 */
export function useSseSingleConnectionRefusal(graphqlPath: string): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== graphqlPath || (request.method !== 'PUT' && request.method !== 'DELETE')) return;
      endResponse(new fetchAPI.Response(REFUSAL, { status: 405, headers: { allow: 'GET, POST', 'content-type': 'application/json; charset=utf-8' } }));
    },
  };
}
