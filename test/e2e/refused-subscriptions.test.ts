import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, issueExtraToken, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { hangUp, openStream, type OpenStream } from '../support/http-streams.ts';
import { sleep } from '../support/subscriptions.ts';

// A subscription that is refused, on any transport and for any reason, keeps none
// of the tenant's subscription slots: after many refusals of every kind, the
// tenant still subscribes up to its cap, and one more is RATE_LIMITED.

/** Small on purpose: a single leaked slot of each kind repeated CAP + 1 times would exhaust it. */
const CAP = 3;
const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId } }';

let gateway: TestGateway;
let tenant: TestTenant;
let publishOnly: string;

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
  // Before the first request: the gateway caches what it reads of a token's tenant.
  await gateway.services.prisma.tenant.update({ where: { id: tenant.tenant.id }, data: { maxSubscriptions: CAP } });
  publishOnly = (await issueExtraToken(gateway, tenant.tenant.id, ['PUBLISH'])).token;
});

afterAll(async () => {
  await gateway.stop();
});

/** A gauge summed over the tenant's series. */
async function gauge(name: string): Promise<number> {
  const scraped = await (await fetch(gateway.metricsUrl)).text();
  const series = scraped.matchAll(new RegExp(`^${name}\\{tenant="${tenant.tenant.id}"[^}]*\\} (\\d+)$`, 'gm'));
  return [...series].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function gaugeBecomes(name: string, expected: number): Promise<void> {
  for (let waited = 0; (await gauge(name)) !== expected; waited += 50) {
    if (waited > 5_000) throw new Error(`${name} stayed at ${await gauge(name)}, expected ${expected}`);
    await sleep(50);
  }
}

function post(accept: string, query: string, token = tenant.token) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables: { queue: 'refusals' } }),
  };
}

const MULTIPART = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0", application/json';

async function sse(query: string, token = tenant.token): Promise<OpenStream> {
  return openStream(gateway.graphqlUrl, post('text/event-stream', query, token));
}

/** The first error code an SSE subscription answered with, then the stream must end. */
async function sseErrorCode(query: string, token = tenant.token): Promise<string | undefined> {
  const stream = await sse(query, token);
  const event = await stream.nextEvent();
  const result = JSON.parse(event?.data ?? '{}') as { errors?: { extensions?: { code?: string } }[] };
  expect(await stream.nextEvent()).toMatchObject({ event: 'complete' });
  await stream.close();
  return result.errors?.[0]?.extensions?.code;
}

/** The error code of a subscription refused to Apollo's multipart protocol: a JSON answer, no stream. */
async function multipartErrorCode(query: string, token = tenant.token): Promise<string | undefined> {
  const response = await fetch(gateway.graphqlUrl, post(MULTIPART, query, token));
  expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
  const result = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  return result.errors?.[0]?.extensions?.code;
}

/** The error code of a subscription over GET with Accept: text/event-stream. */
async function sseGetErrorCode(query: string): Promise<string | undefined> {
  const url = `${gateway.graphqlUrl}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ queue: 'refusals' }))}`;
  const stream = await openStream(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${tenant.token}` } });
  const event = await stream.nextEvent();
  const result = JSON.parse(event?.data ?? '{}') as { errors?: { extensions?: { code?: string } }[] };
  expect(await stream.nextEvent()).toMatchObject({ event: 'complete' });
  await stream.close();
  return result.errors?.[0]?.extensions?.code;
}

/** Subscribes over graphql-ws on a raw socket and drops the socket right after the subscribe message. */
async function wsSubscribeAndDrop(): Promise<void> {
  const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { token: tenant.token } }));
  await new Promise((resolve) => socket.once('message', resolve));
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: EVENTS, variables: { queue: 'refusals' } } }));
  socket.terminate();
  await new Promise((resolve) => socket.once('close', resolve));
}

const REFUSALS: [string, () => Promise<void>][] = [
  [
    'HTTP 406: a subscription POSTed with only Accept: application/json',
    async () => {
      const response = await fetch(gateway.graphqlUrl, post('application/json', EVENTS));
      expect(response.status).toBe(406);
      expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_ACCEPTABLE' } }] });
    },
  ],
  [
    'HTTP 406: a subscription over GET with only Accept: application/json',
    async () => {
      const url = `${gateway.graphqlUrl}?query=${encodeURIComponent(EVENTS)}`;
      const response = await fetch(url, { headers: { accept: 'application/json', authorization: `Bearer ${tenant.token}` } });
      expect(response.status).toBe(406);
      await response.body?.cancel();
    },
  ],
  ['SSE: a validation error', async () => expect(await sseErrorCode('subscription { jobEvents { nope } }')).toBe('GRAPHQL_VALIDATION_FAILED')],
  ['SSE: a token without READ (FORBIDDEN)', async () => expect(await sseErrorCode(EVENTS, publishOnly)).toBe('FORBIDDEN')],
  [
    'SSE: workAssigned, which needs a socket (BAD_USER_INPUT)',
    async () => expect(await sseErrorCode('subscription { workAssigned(queues: ["refusals"]) { id } }')).toBe('BAD_USER_INPUT'),
  ],
  ['SSE: a client that hangs up before any answer', () => hangUp(gateway.graphqlUrl, post('text/event-stream', EVENTS))],
  ['SSE: a client that hangs up once the answer starts', () => hangUp(gateway.graphqlUrl, post('text/event-stream', EVENTS), true)],
  ['SSE over GET: a validation error', async () => expect(await sseGetErrorCode('subscription { jobEvents { nope } }')).toBe('GRAPHQL_VALIDATION_FAILED')],
  [
    'multipart (Apollo): a validation error',
    async () => expect(await multipartErrorCode('subscription { jobEvents { nope } }')).toBe('GRAPHQL_VALIDATION_FAILED'),
  ],
  ['multipart (Apollo): a token without READ (FORBIDDEN)', async () => expect(await multipartErrorCode(EVENTS, publishOnly)).toBe('FORBIDDEN')],
  [
    'multipart (Apollo): workAssigned, which needs a socket (BAD_USER_INPUT)',
    async () => expect(await multipartErrorCode('subscription { workAssigned(queues: ["refusals"]) { id } }')).toBe('BAD_USER_INPUT'),
  ],
  ['multipart (Apollo): a client that hangs up once the answer starts', () => hangUp(gateway.graphqlUrl, post(MULTIPART, EVENTS), true)],
  ['multipart (Apollo): a client that hangs up before any answer', () => hangUp(gateway.graphqlUrl, post(MULTIPART, EVENTS))],
  [
    'graphql-ws: a validation error and a token without READ',
    async () => {
      const client = wsClient(gateway.wsUrl, { token: tenant.token });
      expect(await wsExecute(client, 'subscription { jobEvents { nope } }').catch((errors: { extensions?: { code?: string } }[]) => errors[0])).toBeDefined();
      await client.dispose();
      const forbidden = wsClient(gateway.wsUrl, { token: publishOnly });
      const result = await wsExecute(forbidden, EVENTS);
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
      await forbidden.dispose();
    },
  ],
  ['graphql-ws: a socket dropped right after subscribe', wsSubscribeAndDrop],
];

describe(`a tenant capped at ${CAP} subscriptions`, () => {
  it.each(REFUSALS)('keeps no slot for refused subscriptions: %s', async (_kind, refuse) => {
    for (let attempt = 0; attempt <= CAP; attempt++) await refuse();
    await gaugeBecomes('jobgate_subscriptions', 0);
    await gaugeBecomes('jobgate_subscription_streams', 0);
  });

  it('then subscribes up to its cap, and one more is RATE_LIMITED on every transport, keeping no slot', async () => {
    const live: OpenStream[] = [];
    for (let n = 0; n < CAP; n++) live.push(await sse(EVENTS));
    expect(live.map((stream) => stream.status)).toEqual([200, 200, 200]);
    await gaugeBecomes('jobgate_subscriptions', CAP);
    for (let attempt = 0; attempt <= CAP; attempt++) {
      expect(await sseErrorCode(EVENTS)).toBe('RATE_LIMITED');
      expect(await sseGetErrorCode(EVENTS)).toBe('RATE_LIMITED');
      expect(await multipartErrorCode(EVENTS)).toBe('RATE_LIMITED');
      const client = wsClient(gateway.wsUrl, { token: tenant.token });
      expect((await wsExecute(client, EVENTS)).errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
      await client.dispose();
    }
    expect(await gauge('jobgate_subscriptions')).toBe(CAP);
    // A slot freed is a slot to take: the refusals above held none of them.
    await live.pop()!.close();
    await gaugeBecomes('jobgate_subscriptions', CAP - 1);
    live.push(await sse(EVENTS));
    expect(live.at(-1)!.status).toBe(200);
    await gaugeBecomes('jobgate_subscriptions', CAP);
    await Promise.all(live.map((stream) => stream.close()));
    await gaugeBecomes('jobgate_subscriptions', 0);
    await gaugeBecomes('jobgate_subscription_streams', 0);
  });
});
