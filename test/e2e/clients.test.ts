import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { gqlData } from '../support/clients.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { openStream } from '../support/http-streams.ts';

// The clients Jobgate's users already use, against a real gateway.

const SEND = gql`
  mutation Send($queue: String!, $data: JSON!) {
    sendJob(queue: $queue, data: $data) {
      id
      queue
      state
    }
  }
`;
const EVENTS = gql`
  subscription Events($queue: String!) {
    jobEvents(queue: $queue) {
      type
      queue
      jobId
    }
  }
`;

interface SendResult {
  sendJob: { id: string; queue: string; state: string };
}
interface EventResult {
  jobEvents: { type: string; queue: string; jobId: string };
}

let gateway: TestGateway;
let tenant: TestTenant;
const sockets: WsClient[] = [];

function ws(): WsClient {
  const client = createClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, connectionParams: { token: tenant.token } });
  sockets.push(client);
  return client;
}

/** Sends jobs until the subscription reports one: proves it is live without guessing a delay. */
async function sendUntilSeen(send: () => Promise<string>, seen: Set<string>): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = await send();
    for (let wait = 0; wait < 10; wait++) {
      if (seen.has(id)) return id;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error('the subscription never reported a job');
}

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.dispose()));
  await gateway.stop();
});

describe('Apollo Client', () => {
  it('sends a job over HTTP and receives its events over GraphQLWsLink', async () => {
    const link = ApolloLink.split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      new GraphQLWsLink(ws()),
      new HttpLink({ uri: gateway.graphqlUrl, headers: { authorization: `Bearer ${tenant.token}` } }),
    );
    const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
    const seen = new Set<string>();
    const subscription = apollo.subscribe<EventResult>({ query: EVENTS, variables: { queue: 'apollo' } }).subscribe({
      next: (result) => {
        if (result.data?.jobEvents.type === 'CREATED') seen.add(result.data.jobEvents.jobId);
      },
    });
    const id = await sendUntilSeen(async () => {
      const result = await apollo.mutate<SendResult>({ mutation: SEND, variables: { queue: 'apollo', data: { via: 'apollo' } } });
      expect(result.data?.sendJob).toMatchObject({ queue: 'apollo', state: 'CREATED' });
      return result.data!.sendJob.id;
    }, seen);
    expect(seen.has(id)).toBe(true);
    subscription.unsubscribe();
    apollo.stop();
  });
});

describe('Apollo Client with only an HttpLink (multipart subscriptions)', () => {
  it('receives jobEvents over HTTP, no WebSocket link, and frees the subscription on unsubscribe', async () => {
    const apollo = new ApolloClient({
      link: new HttpLink({ uri: gateway.graphqlUrl, headers: { authorization: `Bearer ${tenant.token}` } }),
      cache: new InMemoryCache(),
    });
    const seen = new Set<string>();
    const errors: unknown[] = [];
    const subscription = apollo.subscribe<EventResult>({ query: EVENTS, variables: { queue: 'apollo-http' } }).subscribe({
      next: (result) => {
        if (result.error) errors.push(result.error);
        if (result.data?.jobEvents.type === 'CREATED') seen.add(result.data.jobEvents.jobId);
      },
      error: (error) => errors.push(error),
    });
    const id = await sendUntilSeen(async () => {
      const result = await apollo.mutate<SendResult>({ mutation: SEND, variables: { queue: 'apollo-http', data: { via: 'apollo-http' } } });
      return result.data!.sendJob.id;
    }, seen);
    expect(seen.has(id)).toBe(true);
    expect(errors).toEqual([]);
    subscription.unsubscribe();
    apollo.stop();
    for (let waited = 0; ; waited += 50) {
      const metrics = await (await fetch(gateway.metricsUrl)).text();
      if (!new RegExp(`^jobgate_subscriptions\\{tenant="${tenant.tenant.id}",field="jobEvents"\\} [1-9]`, 'm').test(metrics)) break;
      if (waited > 5_000) throw new Error('the subscription was never ended');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('speaks the protocol as Apollo specifies it: payload parts, {} heartbeats every 5 s, JSON for a refusal', async () => {
    const accept = 'multipart/mixed;subscriptionSpec="1.0", application/json';
    const stream = await openStream(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${tenant.token}` },
      body: JSON.stringify({ query: EVENTS.loc!.source.body, variables: { queue: 'apollo-raw' } }),
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec="1.0"');
    const part = (json: string) => `\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n${json}\r\n--graphql`;
    const started = Date.now();
    await stream.until(part('{}'), 7_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    const sent = await gqlData<SendResult>(gateway.graphqlUrl, tenant.token, SEND.loc!.source.body, { queue: 'apollo-raw', data: {} });
    const event = { payload: { data: { jobEvents: { type: 'CREATED', queue: 'apollo-raw', jobId: sent.sendJob.id } } } };
    expect(await stream.until(JSON.stringify(event))).toContain(part(JSON.stringify(event)));
    await stream.close();

    const refused = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify({ query: EVENTS.loc!.source.body, variables: { queue: 'apollo-raw' } }),
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });
});

describe('urql', () => {
  it('sends a job and receives its events through subscriptionExchange', async () => {
    const socket = ws();
    const urql = new UrqlClient({
      url: gateway.graphqlUrl,
      fetchOptions: { headers: { authorization: `Bearer ${tenant.token}` } },
      exchanges: [
        subscriptionExchange({
          forwardSubscription(request) {
            const input = { ...request, query: request.query ?? '' };
            return { subscribe: (sink) => ({ unsubscribe: socket.subscribe(input, sink) }) };
          },
        }),
        fetchExchange,
      ],
    });
    const seen = new Set<string>();
    const { unsubscribe } = urql.subscription<EventResult>(EVENTS, { queue: 'urql' }).subscribe((result) => {
      if (result.data?.jobEvents.type === 'CREATED') seen.add(result.data.jobEvents.jobId);
    });
    const id = await sendUntilSeen(async () => {
      const result = await urql.mutation<SendResult>(SEND, { queue: 'urql', data: { via: 'urql' } }).toPromise();
      expect(result.error).toBeUndefined();
      return result.data!.sendJob.id;
    }, seen);
    expect(seen.has(id)).toBe(true);
    unsubscribe();
  });

  it('shows a refused token as an UNAUTHENTICATED error', async () => {
    const urql = new UrqlClient({
      url: gateway.graphqlUrl,
      exchanges: [fetchExchange],
      fetchOptions: { headers: { authorization: 'Bearer nope-nope-nope-nope' } },
    });
    const result = await urql.query('{ viewer { tenant { id } } }', {}).toPromise();
    expect(result.error?.graphQLErrors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(result.error?.response?.status).toBe(401);
  });
});
