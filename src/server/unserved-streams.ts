import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { errorJson } from '../errors.ts';

type ResultProcessHook = NonNullable<Plugin['onResultProcess']>;
type ProcessedResult = Parameters<ResultProcessHook>[0]['result'];

/** What every HTTP stream of the gateway can be read as. */
export const STREAM_MEDIA_TYPES = ['text/event-stream', 'multipart/mixed;subscriptionSpec="1.0"'];

const notAcceptable = (message: string) => JSON.stringify({ errors: [errorJson('NOT_ACCEPTABLE', message)] });
const STREAM_NOT_ACCEPTABLE = notAcceptable(
  `a subscription is answered over HTTP as ${STREAM_MEDIA_TYPES.join(' or ')} (Apollo's multipart subscriptions), ` +
    'and this request accepts neither (graphql-ws on the same path serves it too)',
);
const RESULT_NOT_ACCEPTABLE = notAcceptable('a result is answered as application/graphql-response+json or application/json, and this request accepts neither');

function endStream(result: ProcessedResult): void {
  if (!isAsyncIterable(result)) return;
  // A subscription holds a tenant slot (and maybe a shared stream) until its iterator returns.
  void result[Symbol.asyncIterator]()
    .return?.()
    ?.catch(() => {});
}

/**
 * HTTP results that no one will read are ended here: Yoga answers a stream
 * that no result processor serves with a bare 406 and never returns the
 * subscription's iterator, and a response whose client hung up before it was
 * written is dropped without cancelling its body. Must come after every
 * plugin that chooses a result processor.
 */
export function useUnservedStreams(): Plugin {
  return {
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      if (!resultProcessor) {
        const stream = isAsyncIterable(result);
        endStream(result);
        setResultProcessor(
          (_result, fetchAPI) =>
            new fetchAPI.Response(stream ? STREAM_NOT_ACCEPTABLE : RESULT_NOT_ACCEPTABLE, {
              status: 406,
              headers: { 'content-type': 'application/json; charset=utf-8' },
            }),
          'application/json',
        );
        return;
      }
      if (!isAsyncIterable(result)) return;
      if (request.signal.aborted) endStream(result);
      else request.signal.addEventListener('abort', () => endStream(result), { once: true });
    },
  };
}
