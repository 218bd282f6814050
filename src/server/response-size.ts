import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clientError } from '../errors.ts';
import { operationOfArgs } from './operation-plugins.ts';
import { isPushSubscription } from './push-fields.ts';

/** A result with its JSON attached: Yoga's result processors (JSON, SSE, multipart) write `stringify()` instead of serializing again. */
type SerializedResult = ExecutionResult & { stringify(): string };

/**
 * Bounds the JSON of any single result, on every transport: a query's
 * answer, a subscription's event. One over `maxBytes` is replaced by a
 * RESPONSE_TOO_LARGE error. It is measured once serialized: what it holds
 * before that is bounded by the query cost limit and the page sizes.
 */
export function useResponseSizeLimit(maxBytes: number): Plugin {
  const tooLarge = (bytes: number): ExecutionResult => ({
    data: null,
    errors: [
      clientError(
        'RESPONSE_TOO_LARGE',
        `the response is ${bytes} bytes, over the ${maxBytes} allowed (JOBGATE_MAX_RESPONSE_BYTES); the operation ran: ask for fewer items or fields`,
        { limit: 'responseBytes', maxBytes, bytes },
      ),
    ],
  });

  const bound = (result: ExecutionResult, setResult: (result: ExecutionResult) => void) => {
    const json = JSON.stringify(result);
    // UTF-8 takes one to three bytes for each UTF-16 unit: only in between is it worth counting.
    const bytes = json.length > maxBytes || json.length * 3 <= maxBytes ? json.length : Buffer.byteLength(json);
    if (bytes > maxBytes) setResult(tooLarge(Buffer.byteLength(json)));
    // Yoga takes internals out of errors and extensions as it serializes: only a plain result's JSON is the same.
    else if (!result.errors && !result.extensions) setResult(Object.assign({}, result, { stringify: () => json }) satisfies SerializedResult);
  };

  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) {
            bound(result, setResult);
            return;
          }
          return { onNext: ({ result: next, setResult: setNext }) => bound(next, setNext) };
        },
      };
    },
    onSubscribe({ args }) {
      // A push's jobs are held by then: a worker that got the error instead would hold them until it
      // disconnected. What one carries is bounded by the worker's concurrency and JOBGATE_MAX_JOB_DATA_BYTES.
      if (isPushSubscription(operationOfArgs(args))) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) {
            bound(result, setResult);
            return;
          }
          return { onNext: ({ result: next, setResult: setNext }) => bound(next, setNext) };
        },
      };
    },
  };
}
