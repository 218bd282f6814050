import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { gqlData, wsClient } from '../support/clients.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { settledMemory, type Memory } from '../support/memory.ts';
import { sumOf, parseSamples } from '../support/prometheus.ts';
import { sleep } from '../support/subscriptions.ts';

// A subscriber that stops reading while large events flow is cut off once
// JOBGATE_MAX_BUFFERED_BYTES (8 MiB by default) wait for it, long before its
// JOBGATE_EVENT_BUFFER_SIZE (10,000 events) would be reached; the others
// sharing its stream go on. All with the settings of `npm start`.

/** Each job's data is 200 KiB of JSON, and every event carries it (`job { data }`). */
const PAD = 'p'.repeat(200 * 1024);
const JOBS = 800;
const BATCH = 40;
/** What the events of the flood weigh: what a stalled subscriber would hold without the byte bound. */
const FLOOD_MIB = (JOBS * PAD.length) / 2 ** 20;
const QUERY = 'subscription { jobEvents(queue: "big", types: [CREATED]) { jobId job { data } } }';

let gateway: TestGateway;
const disposals: (() => unknown)[] = [];

beforeAll(async () => {
  gateway = await startGateway();
  // The same flood to a reader alone first: the process's heap and allocator grow to what the
  // flood itself needs, so that what the tests measure afterwards is what a stalled subscriber holds.
  const warmup = await createTestTenant(gateway);
  await flood(warmup.token, await readingSubscriber(warmup.token));
}, 120_000);

afterAll(async () => {
  for (const dispose of disposals) await dispose();
  await gateway.stop();
});

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Without the bound both grow by the whole flood. RSS also moves by tens of
 * MiB with the allocator's whims on a busy process, so its margin is wider.
 */
function expectHeldLittle(before: Memory, after: Memory): void {
  expect(after.heap - before.heap).toBeLessThan(FLOOD_MIB / 4);
  expect(after.rss - before.rss).toBeLessThan(FLOOD_MIB * 0.6);
}

async function slowConsumerDrops(tenant: TestTenant): Promise<number> {
  const samples = parseSamples(await (await fetch(gateway.metricsUrl)).text());
  return sumOf(samples, 'jobgate_slow_consumer_disconnects_total', { tenant: tenant.tenant.id, limit: 'bytes' });
}

/**
 * A reading subscriber of the stream the stalled one is in: when each job's
 * event arrived (the data itself is not kept), from the moment it is subscribed.
 */
async function readingSubscriber(token: string): Promise<Map<string, number>> {
  const client = wsClient(gateway.wsUrl, { token });
  disposals.push(() => client.dispose());
  const arrivals = new Map<string, number>();
  client.subscribe<{ jobEvents: { jobId: string } }>(
    { query: QUERY },
    { next: (result) => result.data && arrivals.set(result.data.jobEvents.jobId, Date.now()), error: () => {}, complete: () => {} },
  );
  await waitFor(
    'the reader to subscribe',
    async () => {
      const probe = (await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, token, 'mutation { sendJob(queue: "big", data: {}) { id } }')).sendJob.id;
      await sleep(200);
      return arrivals.has(probe);
    },
    10_000,
  );
  return arrivals;
}

/**
 * Sends the flood in batches, each once the reading subscriber has the
 * previous one: the longest wait from a batch's commit to its last event
 * reaching the reader.
 */
async function flood(token: string, arrivals: Map<string, number>): Promise<number> {
  let slowest = 0;
  const expected = arrivals.size + JOBS;
  for (let sent = 0; sent < JOBS; sent += BATCH) {
    const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(
      gateway.graphqlUrl,
      token,
      'mutation($jobs: [JobInput!]!) { sendJobs(queue: "big", jobs: $jobs) }',
      {
        jobs: Array.from({ length: BATCH }, (_, n) => ({ data: { n: sent + n, pad: PAD } })),
      },
    );
    const committed = Date.now();
    await waitFor('the reader to get the batch', () => ids.every((id) => arrivals.has(id)), 20_000);
    slowest = Math.max(slowest, Math.max(...ids.map((id) => arrivals.get(id)!)) - committed);
  }
  expect(arrivals.size).toBe(expected);
  return slowest;
}

/** A graphql-ws subscriber on a bare `ws` socket, so that the test can stop it reading. */
async function rawWsSubscriber(token: string): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    socket.on('message', (raw) => {
      if (JSON.parse(String(raw)).type === 'connection_ack') resolve();
    });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { token } })));
  });
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY } }));
  disposals.push(() => socket.terminate());
  return { socket, closed };
}

/** A server-sent events subscriber on a bare TCP connection that reads the response head, then nothing until resumed. */
async function rawSseSubscriber(token: string): Promise<{ socket: net.Socket; received: () => number; closed: Promise<void> }> {
  const body = JSON.stringify({ query: QUERY });
  const socket = net.connect(gateway.port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  disposals.push(() => socket.destroy());
  let head = '';
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.pause();
      if (head.startsWith('HTTP/1.1 200') && head.includes('text/event-stream')) resolve();
      else reject(new Error(`not an event stream: ${head}`));
    });
    socket.write(
      [
        'POST /graphql HTTP/1.1',
        `Host: 127.0.0.1:${gateway.port}`,
        `Authorization: Bearer ${token}`,
        'Content-Type: application/json',
        'Accept: text/event-stream',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
  });
  return { socket, received: () => received, closed };
}

describe('slow consumers, by bytes waiting for them', () => {
  it(`ends a stalled server-sent events subscriber's connection after about 8 MiB of a ${FLOOD_MIB} MiB flood, holding next to none of it; its stream's reader keeps up`, async () => {
    const owner = await createTestTenant(gateway);
    const stalled = await rawSseSubscriber(owner.token);
    const arrivals = await readingSubscriber(owner.token);
    const before = settledMemory();

    const slowest = await flood(owner.token, arrivals);
    const after = settledMemory();

    // Without the byte bound the shared stream would keep every event for it, as results not yet read.
    expectHeldLittle(before, after);
    expect(await slowConsumerDrops(owner)).toBe(1);
    expect(slowest).toBeLessThan(5_000);
    // Its connection was destroyed: reading on, it gets what the kernels held, then the end, far short of the flood.
    stalled.socket.resume();
    await stalled.closed;
    expect(stalled.received() / 2 ** 20).toBeLessThan(FLOOD_MIB / 3);
  }, 120_000);

  it(`closes a stalled graphql-ws subscriber with 4499 after about 8 MiB of a ${FLOOD_MIB} MiB flood, holding next to none of it; its stream's reader keeps up`, async () => {
    const owner = await createTestTenant(gateway);
    const stalled = await rawWsSubscriber(owner.token);
    const arrivals = await readingSubscriber(owner.token);
    const tcp = (stalled.socket as unknown as { _socket: net.Socket })._socket;
    // Stopped reading: once the kernel's buffers are full, whatever the gateway writes waits in it.
    tcp.pause();
    const before = settledMemory();

    const flooding = flood(owner.token, arrivals);
    // Once it is dropped, the client reads on: the close frame waited behind what was buffered, and it learns why
    // (ws gives a closing peer 30 s to read it, which a flood on a loaded machine can outlast).
    await waitFor('the stalled subscriber to be dropped', async () => (await slowConsumerDrops(owner)) === 1, 60_000);
    tcp.resume();
    const slowest = await flooding;
    const after = settledMemory();

    // Without the byte bound the stalled socket would hold the whole flood (JOBGATE_EVENT_BUFFER_SIZE is 10,000 events).
    expectHeldLittle(before, after);
    expect(await slowConsumerDrops(owner)).toBe(1);
    // Generous for a loaded 2-core machine: each batch is 40 events of 200 KiB, each looked up once for the stream.
    expect(slowest).toBeLessThan(5_000);
    expect(await stalled.closed).toBe(4499);
  }, 120_000);
});
