import type { ExecutionResult } from 'graphql';
import type { FetchAPI } from 'graphql-yoga';
import { errorJson } from '../errors.ts';

/** The error a client sees when the stream itself breaks. */
export const STREAM_FAILED = errorJson('INTERNAL_SERVER_ERROR', 'The subscription stream failed.');

/** How one HTTP subscription protocol frames a stream of results. */
export interface StreamFraming {
  readonly opening: string;
  /** Written every keepAliveMs while the client keeps up, so a quiet stream does not look dead. */
  readonly keepAlive: string;
  readonly keepAliveMs: number;
  result(result: ExecutionResult): string;
  /** Written when the stream itself breaks (Yoga turns resolver errors into results). */
  readonly failure: string;
  readonly closing: string;
  readonly headers: Record<string, string>;
}

/** A response that writes each result of the stream as the client reads, and ends the stream when the client goes. */
export function streamResponse(stream: AsyncIterable<ExecutionResult>, fetchAPI: FetchAPI, framing: StreamFraming): Response {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = stream[Symbol.asyncIterator]();
  let keepAlive: NodeJS.Timeout | undefined;
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(framing.opening));
      keepAlive = setInterval(() => {
        if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(framing.keepAlive));
      }, framing.keepAliveMs);
    },
    async pull(controller) {
      let next: IteratorResult<ExecutionResult>;
      try {
        next = await iterator.next();
      } catch {
        next = { done: true, value: undefined };
        controller.enqueue(encoder.encode(framing.failure));
      }
      if (!next.done) {
        controller.enqueue(encoder.encode(framing.result(next.value)));
        return;
      }
      clearInterval(keepAlive);
      controller.enqueue(encoder.encode(framing.closing));
      controller.close();
    },
    async cancel() {
      clearInterval(keepAlive);
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(body, { status: 200, headers: framing.headers });
}
