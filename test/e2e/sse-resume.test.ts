import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import { useGateway, useTestTenant } from '../support/gateway.ts';
import { sendJob } from '../support/operations.ts';
import { sleep } from '../support/subscriptions.ts';

// Server-sent events resume by themselves: each job event's SSE id is its cursor, and
// the EventSource client (the `eventsource` package, the WHATWG EventSource for Node with
// a fetch of one's own for the token) sends Last-Event-ID when it reconnects.

const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId cursor } }';

interface Received {
  id: string;
  jobId: string;
  type: string;
  cursor: string;
}

const gateway = useGateway();
const tenant = useTestTenant(gateway);

/** A TCP proxy in front of the gateway whose connections can be cut, as a load balancer's idle cut would. */
let proxy: Server;
let proxyPort: number;
const proxied = new Set<Socket>();

beforeAll(async () => {
  const target = new URL(gateway.url);
  proxy = createServer((downstream) => {
    const upstream = connect(Number(target.port), target.hostname);
    proxied.add(downstream);
    downstream.on('close', () => proxied.delete(downstream));
    downstream.pipe(upstream).pipe(downstream);
    const end = () => (downstream.destroy(), upstream.destroy());
    downstream.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of proxied) socket.destroy();
  await new Promise((resolve) => proxy.close(resolve));
});

function eventSource(queue: string): { source: EventSource; received: Received[]; opened: () => number } {
  const url = new URL(`http://127.0.0.1:${proxyPort}/graphql`);
  url.searchParams.set('query', EVENTS);
  url.searchParams.set('variables', JSON.stringify({ queue }));
  let opens = 0;
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${tenant.token}` } }),
  });
  const received: Received[] = [];
  source.addEventListener('open', () => opens++);
  source.addEventListener('next', (message) => {
    const { data } = JSON.parse(message.data) as { data: { jobEvents: Omit<Received, 'id'> } };
    received.push({ id: message.lastEventId, ...data.jobEvents });
  });
  return { source, received, opened: () => opens };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Sends probe jobs until one is reported: the stream is live (a probe sent before it started is not). */
async function probed(queue: string, received: Received[]): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await sendJob(gateway, tenant.token, queue);
    const deadline = Date.now() + 300;
    while (Date.now() < deadline) {
      if (received.some((event) => event.jobId === probe)) return;
      await sleep(20);
    }
  }
  throw new Error('the stream never reported a probe');
}

describe('server-sent events resume from Last-Event-ID', () => {
  it("carries each event's cursor as its id, and an EventSource cut off gets exactly the events it missed", async () => {
    const queue = 'sse-resume';
    const { source, received, opened } = eventSource(queue);
    try {
      // Live: a probe sent after the stream opened arrives.
      await until(() => opened() === 1, 'the stream to open');
      await probed(queue, received);
      for (const event of received) expect(event.id).toBe(event.cursor);

      const before = received.length;
      for (const socket of proxied) socket.destroy();
      const missed: string[] = [];
      for (let i = 0; i < 5; i++) missed.push(await sendJob(gateway, tenant.token, queue));
      await until(() => opened() === 2, 'the EventSource to reconnect by itself');
      await until(() => missed.every((id) => received.some((event) => event.jobId === id)), 'the missed events');
      const after = await sendJob(gateway, tenant.token, queue);
      await until(() => received.some((event) => event.jobId === after), 'a live event after the resume');
      const resumed = received.slice(before);
      // Only the missed ones (and probes the first connection had not seen yet), then the live one, none twice.
      expect(resumed.map((event) => event.jobId).filter((id) => missed.includes(id) || id === after)).toEqual([...missed, after]);
      expect(new Set(received.map((event) => event.id)).size).toBe(received.length);
    } finally {
      source.close();
    }
  }, 60_000);

  it('takes a Last-Event-ID header as `after`, and refuses one that is not a cursor', async () => {
    const queue = 'sse-header';
    const { source, received, opened } = eventSource(queue);
    let cursor: string;
    try {
      await until(() => opened() === 1, 'the stream to open');
      await probed(queue, received);
      cursor = received.at(-1)!.id;
    } finally {
      source.close();
    }
    const missed = await sendJob(gateway, tenant.token, queue);
    const url = new URL(gateway.graphqlUrl);
    url.searchParams.set('query', EVENTS);
    url.searchParams.set('variables', JSON.stringify({ queue }));
    const read = async (lastEventId: string) => {
      const controller = new AbortController();
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${tenant.token}`, accept: 'text/event-stream', 'last-event-id': lastEventId },
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('event: next')) text += new TextDecoder().decode((await reader.read()).value);
      while (!text.slice(text.indexOf('event: next')).includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      return text;
    };
    const resumed = await read(cursor);
    expect(resumed).toContain(missed);
    expect(resumed).toMatch(/^id: [A-Za-z0-9_-]+\nevent: next\n/m);
    const refused = await read('not-a-cursor');
    expect(refused).toContain('BAD_USER_INPUT');
  }, 60_000);
});
