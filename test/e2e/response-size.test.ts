import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { openStream } from '../support/http-streams.ts';
import { collect } from '../support/subscriptions.ts';

/** The default JOBGATE_MAX_RESPONSE_BYTES. */
const MAX_RESPONSE = 16 * 1024 * 1024;
/** Near the largest job data (JOBGATE_MAX_JOB_DATA_BYTES, 256 KiB): 60 of these fit in a response, 70 do not. */
const BLOB = 'x'.repeat(256_000);

let gateway: TestGateway;
let tenant: TestTenant;
const sockets: { dispose(): unknown }[] = [];

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
  for (let batch = 0; batch < 2; batch++) {
    const jobs = Array.from({ length: 35 }, (_, n) => ({ data: { n: batch * 35 + n, blob: BLOB } }));
    const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, 'mutation($jobs: [JobInput!]!) { sendJobs(queue: "big", jobs: $jobs) }', { jobs });
    expect(body.errors).toBeUndefined();
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await gateway.stop();
});

const page = (first: number) => `{ jobs(queue: "big", first: ${first}) { nodes { id data } } }`;
const TOO_LARGE = { code: 'RESPONSE_TOO_LARGE', limit: 'responseBytes', maxBytes: MAX_RESPONSE };

describe('the size of one response', () => {
  it('answers a JSON response over the limit with RESPONSE_TOO_LARGE, in a few hundred bytes', async () => {
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` },
      body: JSON.stringify({ query: page(70) }),
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text.length).toBeLessThan(2_000);
    const body = JSON.parse(text) as { data: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.data).toBeNull();
    expect(body.errors[0]!.extensions).toMatchObject(TOO_LARGE);
    expect(body.errors[0]!.extensions.bytes).toBeGreaterThan(MAX_RESPONSE);
    expect(body.errors[0]!.message).toMatch(/JOBGATE_MAX_RESPONSE_BYTES/);
  });

  it('still serves a large response under the limit whole', async () => {
    const { status, body } = await httpGraphql<{ jobs: { nodes: { data: { blob: string } }[] } }>(gateway.graphqlUrl, tenant.token, page(60));
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data!.jobs.nodes).toHaveLength(60);
    expect(body.data!.jobs.nodes.every((node) => node.data.blob === BLOB)).toBe(true);
  });

  it('replaces a server-sent event over the limit', async () => {
    const stream = await openStream(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${tenant.token}` },
      body: JSON.stringify({ query: page(70) }),
    });
    try {
      const event = await stream.nextEvent(10_000);
      expect(event?.event).toBe('next');
      expect(event!.data.length).toBeLessThan(2_000);
      expect((JSON.parse(event!.data) as { errors: { extensions: unknown }[] }).errors[0]!.extensions).toMatchObject(TOO_LARGE);
    } finally {
      await stream.close();
    }
  });

  it('replaces a graphql-ws next message over the limit', async () => {
    const client = wsClient(gateway.wsUrl, { token: tenant.token });
    sockets.push(client);
    const result = await wsExecute(client, page(70));
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject(TOO_LARGE);
    // The socket carries on.
    expect((await wsExecute(client, '{ viewer { tokenId } }')).errors).toBeUndefined();
  });

  it('never replaces a push of jobs, whose jobs are held by then, however large', async () => {
    const client = wsClient(gateway.wsUrl, { token: tenant.token });
    sockets.push(client);
    const pushes = collect<{ workAssignedBatches: { id: string; data: { blob: string } }[] }>(
      client,
      'subscription { workAssignedBatches(queues: ["big"], concurrency: 70) { id data } }',
    );
    try {
      await pushes.waitFor(() => pushes.results.reduce((sum, result) => sum + (result.data?.workAssignedBatches.length ?? 0), 0) >= 70, 20_000);
      expect(pushes.results.flatMap((result) => result.errors ?? [])).toEqual([]);
      // All 70 in one claim, one message: over the limit that other responses get.
      expect(Math.max(...pushes.results.map((result) => JSON.stringify(result).length))).toBeGreaterThan(MAX_RESPONSE);
    } finally {
      pushes.stop();
    }
  });
});
