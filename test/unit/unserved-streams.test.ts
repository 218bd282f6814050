import { describe, expect, it } from '@jest/globals';
import { createSchema, createYoga } from 'graphql-yoga';
import { useMultipartSubscriptions } from '../../src/server/multipart-subscriptions.ts';
import { useUnservedStreams } from '../../src/server/unserved-streams.ts';

// HTTP subscriptions that no one will read end their source: a client gone
// before its answer is written (whatwg-node then drops the response without
// cancelling its body, so nothing else would end it), and a request that
// accepts no stream format (406). A source that is never ended keeps its
// tenant's subscription slot until the process restarts.

const QUERY = 'subscription { tick }';
const MULTIPART = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0", application/json';

/** A Yoga whose only subscription calls `started` and reports when its source is returned. */
function gateway(started: () => void) {
  let returned: () => void = () => {};
  const ended = new Promise<'ended'>((resolve) => (returned = () => resolve('ended')));
  const source: AsyncIterableIterator<{ tick: number }> = {
    next: () => new Promise(() => {}),
    return: async () => {
      returned();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  const schema = createSchema({
    typeDefs: 'type Query { ok: Boolean } type Subscription { tick: Int }',
    resolvers: {
      Subscription: {
        tick: {
          subscribe: () => {
            started();
            return source;
          },
        },
      },
    },
  });
  const yoga = createYoga({ schema, logging: false, plugins: [useMultipartSubscriptions(), useUnservedStreams()] });
  return { yoga, ended };
}

function within(ms: number): Promise<'still open'> {
  return new Promise((resolve) => setTimeout(() => resolve('still open'), ms).unref());
}

function post(accept: string, signal?: AbortSignal): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query: QUERY }), signal };
}

describe('a subscription over HTTP that no one will read', () => {
  it.each([
    ['server-sent events', 'text/event-stream'],
    ["Apollo's multipart protocol", MULTIPART],
  ])('over %s, ends its source when the client is gone before the answer is written', async (_label, accept) => {
    const client = new AbortController();
    // The client hangs up while the subscription starts, before any answer.
    const { yoga, ended } = gateway(() => client.abort());
    await Promise.resolve(yoga.fetch('http://gateway/graphql', post(accept, client.signal))).catch(() => {});
    expect(await Promise.race([ended, within(1_000)])).toBe('ended');
  });

  it('that accepts no stream format is answered 406 NOT_ACCEPTABLE and ends its source', async () => {
    const { yoga, ended } = gateway(() => {});
    const response = await yoga.fetch('http://gateway/graphql', post('application/json'));
    expect(response.status).toBe(406);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_ACCEPTABLE' } }] });
    expect(await Promise.race([ended, within(1_000)])).toBe('ended');
  });

  it('is not ended while its client reads it', async () => {
    const { yoga, ended } = gateway(() => {});
    const response = await yoga.fetch('http://gateway/graphql', post('text/event-stream'));
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    expect(await Promise.race([ended, within(200)])).toBe('still open');
    await reader.cancel();
    expect(await Promise.race([ended, within(1_000)])).toBe('ended');
  });
});
