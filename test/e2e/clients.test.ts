import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';

// The clients Jobgate's users already use, against a real gateway.

const SEND = gql`
  mutation Send($queue: String!, $data: JSON!) {
    sendJob(queue: $queue, data: $data) { id queue state }
  }
`;
const EVENTS = gql`
  subscription Events($queue: String!) {
    jobEvents(queue: $queue) { type queue jobId }
  }
`;

interface SendResult { sendJob: { id: string; queue: string; state: string } }
interface EventResult { jobEvents: { type: string; queue: string; jobId: string } }

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
    const urql = new UrqlClient({ url: gateway.graphqlUrl, exchanges: [fetchExchange], fetchOptions: { headers: { authorization: 'Bearer nope-nope-nope-nope' } } });
    const result = await urql.query('{ viewer { tenant { id } } }', {}).toPromise();
    expect(result.error?.graphQLErrors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(result.error?.response?.status).toBe(401);
  });
});
