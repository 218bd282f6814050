import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { gqlData, httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { collect, sleep } from '../support/subscriptions.ts';

let gateway: TestGateway;
let tenant: TestTenant;
const sql = useTestClient();
const sockets: { dispose(): unknown }[] = [];

beforeAll(async () => {
  gateway = await startGateway({
    queryLimits: { depth: 2, breadth: 20, complexity: 500, tokens: 400 },
    maxBodyBytes: 64 * 1024,
    maxPayloadBytes: 64 * 1024,
    connectionInitTimeoutMs: 300,
    allowedOrigins: ['https://app.example'],
    tenantLimits: { operationsPerSecond: 1000, maxConnections: 1000, maxSubscriptions: 1000 },
  });
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.dispose()));
  await gateway.stop();
});

function rawSocket(headers: Record<string, string> = {}): Promise<{ socket: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws', { headers });
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_req, res) => resolve({ socket, status: res.statusCode }));
    socket.once('error', () => {});
  });
}

const closeOf = (socket: WebSocket, timeoutMs = 5000) =>
  new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

async function setLimits(tenantId: string, limits: { operationsPerSecond?: number; maxConnections?: number; maxSubscriptions?: number }) {
  await gateway.services.prisma.tenant.update({ where: { id: tenantId }, data: limits });
}

describe('query limits, on HTTP and graphql-ws alike', () => {
  const aliases = Array.from({ length: 30 }, (_, n) => `a${n}: viewer { tokenId }`).join(' ');

  it('refuses too many fields or aliases with BAD_USER_INPUT', async () => {
    const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, `{ ${aliases} }`);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'QUERY_BREADTH' });
    const client = wsClient(gateway.wsUrl, { token: tenant.token });
    sockets.push(client);
    const overWs = await wsExecute(client, `{ ${aliases} }`);
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'QUERY_BREADTH' });
  });

  it('refuses queries deeper than the limit', async () => {
    const shallow = await httpGraphql(gateway.graphqlUrl, tenant.token, '{ viewer { tokenId } }');
    expect(shallow.body.errors).toBeUndefined();
    const deep = await httpGraphql(gateway.graphqlUrl, tenant.token, '{ viewer { tenant { id } } }');
    expect(deep.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'QUERY_DEPTH' });
  });

  it('refuses documents with too many tokens before parsing them whole', async () => {
    const many = `{ ${Array.from({ length: 200 }, () => 'viewer { tokenId }').join(' ')} }`;
    const { status, body } = await httpGraphql(gateway.graphqlUrl, tenant.token, many);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/tokens/);
  });

  it('refuses an HTTP body over the limit with 413 and writes nothing', async () => {
    const before = await sql.query('SELECT count(*)::int AS n FROM pgboss.job WHERE starts_with(name, $1)', [`${tenant.tenant.id}/`]);
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` },
      body: JSON.stringify({ query: 'mutation($d: JSON) { sendJob(queue: "big", data: $d) { id } }', variables: { d: { blob: 'x'.repeat(100 * 1024) } } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    const after = await sql.query('SELECT count(*)::int AS n FROM pgboss.job WHERE starts_with(name, $1)', [`${tenant.tenant.id}/`]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('closes a WebSocket that sends a frame over the limit (1009)', async () => {
    const { socket } = await rawSocket();
    const closed = closeOf(socket);
    socket.send('x'.repeat(100 * 1024));
    expect(await closed).toBe(1009);
  });
});

describe('connection admission', () => {
  it('refuses WebSocket upgrades from origins not allowed, accepts same-origin and listed ones', async () => {
    expect((await rawSocket({ origin: 'https://evil.example' })).status).toBe(403);
    const listed = await rawSocket({ origin: 'https://app.example' });
    expect(listed.status).toBeUndefined();
    listed.socket.close();
    const same = await rawSocket({ origin: gateway.url });
    expect(same.status).toBeUndefined();
    same.socket.close();
  });

  it('closes a socket that never sends connection_init (4408)', async () => {
    const { socket } = await rawSocket();
    expect(await closeOf(socket)).toBe(4408);
  });

  it('refuses cross-site "simple" HTTP requests (CSRF): without a token, before anything runs', async () => {
    const response = await fetch(`${gateway.graphqlUrl}?query=${encodeURIComponent('{ viewer { tokenId } }')}`);
    expect(response.status).toBe(401);
  });
});

describe('per-tenant limits', () => {
  it('rate-limits a tenant with RATE_LIMITED (429) without touching another tenant', async () => {
    const noisy = await createTestTenant(gateway);
    const quiet = await createTestTenant(gateway);
    await setLimits(noisy.tenant.id, { operationsPerSecond: 5 });
    const results = await Promise.all(Array.from({ length: 30 }, () => httpGraphql(gateway.graphqlUrl, noisy.token, '{ viewer { tokenId } }')));
    const limited = results.filter((r) => r.body.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(15);
    expect(limited[0]?.status).toBe(429);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(5);
    const other = await httpGraphql(gateway.graphqlUrl, quiet.token, '{ viewer { tokenId } }');
    expect(other.status).toBe(200);
  });

  it('caps concurrent connections (close 4429) and subscriptions (RATE_LIMITED)', async () => {
    const capped = await createTestTenant(gateway);
    await setLimits(capped.tenant.id, { maxConnections: 2, maxSubscriptions: 1 });
    // Eager clients keep their sockets open between operations.
    const first = wsClient(gateway.wsUrl, { token: capped.token }, { lazy: false });
    const second = wsClient(gateway.wsUrl, { token: capped.token }, { lazy: false });
    sockets.push(first, second);
    expect((await wsExecute(first, '{ viewer { tokenId } }')).errors).toBeUndefined();
    expect((await wsExecute(second, '{ viewer { tokenId } }')).errors).toBeUndefined();
    const { socket } = await rawSocket();
    const closed = closeOf(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { token: capped.token } }));
    expect(await closed).toBe(4429);

    const sub = collect(first, 'subscription { jobEvents { type } }');
    await sleep(200);
    const refused = collect(second, 'subscription { jobEvents { type } }');
    expect(JSON.stringify(await refused.error)).toContain('RATE_LIMITED');
    sub.stop();
  });

  it("keeps another tenant's dispatch prompt while one tenant floods", async () => {
    const flood = await createTestTenant(gateway);
    const calm = await createTestTenant(gateway);
    await setLimits(flood.tenant.id, { operationsPerSecond: 50 });
    await gqlData(gateway.graphqlUrl, calm.token, 'mutation { createQueue(name: "calm") { name } }');
    const worker = wsClient(gateway.wsUrl, { token: calm.token });
    sockets.push(worker);
    const assigned = collect<{ workAssigned: { id: string } }>(worker, 'subscription { workAssigned(queues: ["calm"]) { id } }');
    await sleep(200);

    let flooding = true;
    const floodLoop = (async () => {
      while (flooding) {
        await Promise.all(
          Array.from({ length: 32 }, (_, n) =>
            httpGraphql(gateway.graphqlUrl, flood.token, 'mutation($d: JSON) { sendJob(queue: "flood", data: $d) { id } }', { d: { n } }),
          ),
        );
      }
    })();
    try {
      const latencies: number[] = [];
      for (let round = 0; round < 5; round++) {
        const sentAt = Date.now();
        const id = (await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, calm.token, 'mutation { sendJob(queue: "calm", data: {}) { id } }')).sendJob
          .id;
        await assigned.waitFor((d) => d.workAssigned.id === id, 3000);
        latencies.push(Date.now() - sentAt);
        await wsExecute(worker, 'mutation($id: ID!) { completeJob(queue: "calm", id: $id) { id } }', { id });
      }
      // Generous (a loaded 2-core CI machine): the flood is rate-limited, so the calm tenant's jobs
      // start within a couple of seconds, not behind the flood's backlog.
      expect(Math.max(...latencies)).toBeLessThan(2000);
    } finally {
      flooding = false;
      await floodLoop;
      assigned.stop();
    }
  });
});

/** A graphql-ws subscriber on a bare socket, so that the test can stop it reading. */
async function rawSubscriber(on: TestGateway, token: string, query: string): Promise<WebSocket> {
  const socket = new WebSocket(on.wsUrl, 'graphql-transport-ws');
  await new Promise<void>((resolve) => {
    socket.on('message', (raw) => {
      if (JSON.parse(String(raw)).type === 'connection_ack') resolve();
    });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { token } })));
  });
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
  return socket;
}

/** Pauses or resumes reading the socket's TCP stream. */
function reading(socket: WebSocket, on: boolean): void {
  const tcp = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  if (on) tcp.resume();
  else tcp.pause();
}

describe('slow consumers', () => {
  it('cuts off a subscriber that stops reading; other subscribers keep receiving', async () => {
    // Defaults but for a small per-subscriber event buffer.
    const roomy = await startGateway({ eventBufferSize: 50 });
    try {
      const owner = await createTestTenant(roomy);
      const socket = await rawSubscriber(roomy, owner.token, 'subscription { jobEvents(queue: "slow") { type jobId job { data } } }');
      const healthy = wsClient(roomy.wsUrl, { token: owner.token });
      sockets.push(healthy);
      const watched = collect<{ jobEvents: { jobId: string } }>(healthy, 'subscription { jobEvents(queue: "canary") { jobId } }');
      await sleep(300);
      // Stop reading: once the kernel's buffers are full, the gateway's writes pile up.
      reading(socket, false);
      const closed = closeOf(socket, 20_000);
      const pad = 'p'.repeat(16 * 1024);
      for (let batch = 0; batch < 10; batch++) {
        await gqlData(roomy.graphqlUrl, owner.token, 'mutation($jobs: [JobInput!]!) { sendJobs(queue: "slow", jobs: $jobs) }', {
          jobs: Array.from({ length: 100 }, (_, n) => ({ data: { n, pad } })),
        });
      }
      const canary = (await gqlData<{ sendJob: { id: string } }>(roomy.graphqlUrl, owner.token, 'mutation { sendJob(queue: "canary", data: {}) { id } }'))
        .sendJob.id;
      await watched.waitFor((d) => d.jobEvents.jobId === canary, 5000);
      reading(socket, true);
      expect(await closed).toBe(1006);
      const scraped = await (await fetch(roomy.metricsUrl)).text();
      expect(scraped).toMatch(new RegExp(`jobgate_slow_consumer_disconnects_total\\{tenant="${owner.tenant.id}",limit="events"\\} 1`));
      watched.stop();
    } finally {
      await roomy.stop();
    }
  }, 60_000);

  it('cuts off a slow subscriber of a shared stream; those sharing it receive every event', async () => {
    const roomy = await startGateway({ eventBufferSize: 50 });
    try {
      const owner = await createTestTenant(roomy);
      const query = 'subscription { jobEvents(queue: "slow") { type jobId job { data } } }';
      const socket = await rawSubscriber(roomy, owner.token, query);
      const healthy = wsClient(roomy.wsUrl, { token: owner.token });
      sockets.push(healthy);
      const watched = collect<{ jobEvents: { jobId: string; type: string } }>(healthy, query);
      await sleep(300);
      const scrape = async () => (await fetch(roomy.metricsUrl)).text();
      expect(await scrape()).toMatch(new RegExp(`jobgate_subscription_streams\\{tenant="${owner.tenant.id}"\\} 1`));
      reading(socket, false);
      const closed = closeOf(socket, 20_000);
      const pad = 'p'.repeat(16 * 1024);
      const ids: string[] = [];
      // Batches smaller than the buffer, each resolved before the next: only the paused socket lags.
      for (let batch = 0; batch < 25; batch++) {
        const sent = await gqlData<{ sendJobs: string[] }>(
          roomy.graphqlUrl,
          owner.token,
          'mutation($jobs: [JobInput!]!) { sendJobs(queue: "slow", jobs: $jobs) }',
          {
            jobs: Array.from({ length: 40 }, (_, n) => ({ data: { n, pad } })),
          },
        );
        ids.push(...sent.sendJobs);
        await watched.waitFor((d) => d.jobEvents.jobId === ids.at(-1), 10_000);
      }
      expect(watched.results.map((r) => r.data!.jobEvents.jobId)).toEqual(ids);
      reading(socket, true);
      expect(await closed).toBe(1006);
      expect(await scrape()).toMatch(new RegExp(`jobgate_slow_consumer_disconnects_total\\{tenant="${owner.tenant.id}",limit="events"\\} 1`));
      watched.stop();
    } finally {
      await roomy.stop();
    }
  }, 60_000);

  it('cuts off every subscriber of a shared stream when its events arrive faster than they resolve', async () => {
    const roomy = await startGateway({ eventBufferSize: 50 });
    try {
      const owner = await createTestTenant(roomy);
      const query = 'subscription { jobEvents(queue: "burst") { jobId job { data } } }';
      const subscribers = [wsClient(roomy.wsUrl, { token: owner.token }), wsClient(roomy.wsUrl, { token: owner.token })];
      sockets.push(...subscribers);
      const ended = subscribers.map((subscriber) => new Promise<unknown>((resolve) => subscriber.on('closed', resolve)));
      const watched = subscribers.map((subscriber) => collect<{ jobEvents: { jobId: string } }>(subscriber, query));
      const probe = (await gqlData<{ sendJob: { id: string } }>(roomy.graphqlUrl, owner.token, 'mutation { sendJob(queue: "burst", data: {}) { id } }')).sendJob
        .id;
      await Promise.all(watched.map((sub) => sub.waitFor((d) => d.jobEvents.jobId === probe)));
      // One statement's 100 events arrive together; each needs a job lookup, so more than 50 wait.
      await gqlData(roomy.graphqlUrl, owner.token, 'mutation($jobs: [JobInput!]!) { sendJobs(queue: "burst", jobs: $jobs) }', {
        jobs: Array.from({ length: 100 }, (_, n) => ({ data: { n } })),
      });
      const closes = (await Promise.all(ended)) as { code: number }[];
      expect(closes.map((event) => event.code)).toEqual([1006, 1006]);
      const scraped = await (await fetch(roomy.metricsUrl)).text();
      expect(scraped).toMatch(new RegExp(`jobgate_slow_consumer_disconnects_total\\{tenant="${owner.tenant.id}",limit="events"\\} 2`));
    } finally {
      await roomy.stop();
    }
  }, 60_000);
});
