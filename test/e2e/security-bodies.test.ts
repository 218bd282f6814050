import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gqlData, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useGateway, useTestTenant, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { settledMemory } from '../support/memory.ts';
import { sleep } from '../support/subscriptions.ts';

// Request bodies cost the gateway nothing until their sender has shown a
// valid token, and slow or silent clients are cut off.

/** A raw HTTP/1.1 connection: what the test writes goes out byte for byte. */
class RawConnection {
  readonly socket: net.Socket;
  readonly opened = Date.now();
  received = '';
  /** When the first bytes of a response arrived. */
  answeredAt: number | null = null;
  closedAt: number | null = null;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.answeredAt ??= Date.now();
      this.received += chunk.toString('latin1');
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    void this.closed.then(() => (this.closedAt = Date.now()));
  }

  /** Resolves once the kernel took the bytes, or the connection failed or closed. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
      this.socket.once('close', () => resolve());
    });
  }

  get status(): number | null {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return match ? Number(match[1]) : null;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function head(gateway: TestGateway, lines: string[], path = '/graphql'): string {
  return [`POST ${path} HTTP/1.1`, `Host: 127.0.0.1:${gateway.port}`, ...lines, '', ''].join('\r\n');
}

describe('request bodies before authentication', () => {
  let gateway: TestGateway;
  let tenant: TestTenant;
  const connections: RawConnection[] = [];

  beforeAll(async () => {
    gateway = await startGateway();
    tenant = await createTestTenant(gateway);
  });

  afterAll(async () => {
    for (const connection of connections) connection.destroy();
    await gateway.stop();
  });

  it('answers stalled uploads without a token with 401 at once, holding next to no memory', async () => {
    const UPLOADS = 24;
    const SENT = 12 * 2 ** 20;
    // A JSON document that never ends: 12 MiB of one string of a declared 16 MiB.
    const body = Buffer.alloc(SENT, 'x');
    body.write('{"query":"', 'latin1');
    const memoryBefore = settledMemory();
    const uploads = Array.from({ length: UPLOADS }, () => new RawConnection(gateway.port));
    connections.push(...uploads);
    await Promise.all(
      uploads.map(async (upload) => {
        await upload.write(head(gateway, ['Content-Type: application/json', `Content-Length: ${16 * 2 ** 20}`]));
        await upload.write(body);
      }),
    );
    // Stalled: nothing more comes. The gateway has had every chance to read what it was sent.
    await sleep(500);
    const memoryAfter = settledMemory();

    await waitFor('an answer to every upload', () => uploads.every((upload) => upload.status !== null), 5_000);
    expect(uploads.map((upload) => upload.status)).toEqual(uploads.map(() => 401));
    // At once: not after the body (which never ends), nor at the 10 s headers or 30 s request deadline.
    // Measured from connecting, so it includes writing 288 MiB on a loaded machine.
    expect(Math.max(...uploads.map((upload) => upload.answeredAt! - upload.opened))).toBeLessThan(8_000);
    expect(uploads[0]!.received).toContain('"code":"UNAUTHENTICATED"');
    // Buffered, the bodies would hold 288 MiB here.
    expect(memoryAfter.rss - memoryBefore.rss).toBeLessThan(100);
    // And their connections are closed.
    await waitFor('every connection closed', () => uploads.every((upload) => upload.closedAt !== null), 5_000);
  }, 60_000);

  it('keeps the 401 for a client still sending that reads it late: the connection is not reset under it', async () => {
    const upload = new RawConnection(gateway.port);
    connections.push(upload);
    await upload.write(head(gateway, ['Content-Type: application/json', `Content-Length: ${8 * 2 ** 20}`]));
    // Not reading: the answer waits in the kernel while more of the body goes out.
    upload.socket.pause();
    await upload.write(Buffer.alloc(64 * 1024, 'x'));
    await sleep(300);
    void upload.write(Buffer.alloc(2 * 2 ** 20, 'x'));
    await sleep(300);
    upload.socket.resume();
    await waitFor('the answer', () => upload.status !== null || upload.closedAt !== null, 5_000);
    expect(upload.status).toBe(401);
    await upload.closed;
  });

  it('lets no path or query string take an upload without a token past authentication', async () => {
    // Yoga matches its routes by the end of the URL.
    const paths = ['/graphql/', '/elsewhere/graphql', '/health?to=/graphql', '/ready?to=/graphql', '/health/graphql', '/nowhere?x=/graphql/'];
    const body = Buffer.alloc(2 * 2 ** 20, 'x');
    body.write('{"query":"', 'latin1');
    const uploads = paths.map(() => new RawConnection(gateway.port));
    connections.push(...uploads);
    await Promise.all(
      uploads.map(async (upload, n) => {
        await upload.write(head(gateway, ['Content-Type: application/json', `Content-Length: ${16 * 2 ** 20}`], paths[n]));
        await upload.write(body);
      }),
    );
    await waitFor('an answer to every upload', () => uploads.every((upload) => upload.status !== null), 5_000);
    expect(Object.fromEntries(uploads.map((upload, n) => [paths[n], upload.status]))).toEqual({
      '/graphql/': 401,
      '/elsewhere/graphql': 404,
      '/health?to=/graphql': 200,
      '/ready?to=/graphql': 200,
      '/health/graphql': 404,
      '/nowhere?x=/graphql/': 404,
    });
  });

  it('answers a declared body over the limit with 413 at once, with or without a token', async () => {
    for (const auth of [[], [`Authorization: Bearer ${tenant.token}`]]) {
      const upload = new RawConnection(gateway.port);
      connections.push(upload);
      await upload.write(head(gateway, [...auth, 'Content-Type: application/json', `Content-Length: ${64 * 2 ** 20}`]));
      await waitFor('an answer', () => upload.status !== null, 3_000);
      expect(auth.length ? [413] : [401, 413]).toContain(upload.status);
    }
  });

  it('still serves GraphiQL, /health, /ready and the dashboard without a token', async () => {
    const graphiql = await fetch(gateway.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toContain('GraphiQL');
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
    const page = await fetch(`${gateway.url}/dashboard/`);
    expect(page.status).toBe(200);
    const asset = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    expect((await fetch(`${gateway.url}${asset}`)).status).toBe(200);
    const preflight = await fetch(gateway.graphqlUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
  });
});

describe('slow clients', () => {
  const gateway = useGateway({ headersTimeoutMs: 1_000, requestTimeoutMs: 1_500 });
  const tenant = useTestTenant(gateway);

  it('cuts a slow body with a valid token after the request timeout (408)', async () => {
    const slow = new RawConnection(gateway.port);
    const query = JSON.stringify({ query: '{ viewer { tokenId } }' });
    await slow.write(head(gateway, [`Authorization: Bearer ${tenant.token}`, 'Content-Type: application/json', `Content-Length: ${query.length}`]));
    for (let sent = 0; sent < query.length && slow.closedAt === null; sent++) {
      await slow.write(query[sent]!);
      await sleep(200);
    }
    await slow.closed;
    expect(slow.status).toBe(408);
    const lasted = slow.closedAt! - slow.opened;
    expect(lasted).toBeGreaterThanOrEqual(1_400);
    expect(lasted).toBeLessThan(4_000);
    slow.destroy();
  }, 20_000);

  it('cuts headers that never end after the headers timeout', async () => {
    const slow = new RawConnection(gateway.port);
    for (let n = 0; n < 30 && slow.closedAt === null; n++) {
      await slow.write(n === 0 ? 'POST /graphql HTTP/1.1\r\n' : `X-Slow-${n}: 1\r\n`);
      await sleep(100);
    }
    await slow.closed;
    expect(slow.closedAt! - slow.opened).toBeLessThan(3_000);
    slow.destroy();
  }, 20_000);

  it('serves a body that arrives in time', async () => {
    expect(await gqlData(gateway.graphqlUrl, tenant.token, '{ viewer { tokenId } }')).toEqual({ viewer: { tokenId: tenant.tokenId } });
  });
});

describe('connections without a token', () => {
  const gateway = useGateway({ maxUnauthenticatedConnections: 20 });
  const tenant = useTestTenant(gateway);

  it('keeps at most the configured number open, dropping the oldest; clients with a token still get in and stay', async () => {
    const worker = wsClient(gateway.wsUrl, { token: tenant.token }, { lazy: false });
    expect((await wsExecute(worker, '{ viewer { tokenId } }')).errors).toBeUndefined();
    let workerClosed = false;
    worker.on('closed', () => (workerClosed = true));

    const idle: RawConnection[] = [];
    for (let n = 0; n < 60; n++) {
      idle.push(new RawConnection(gateway.port));
      // Each one half-written, as slow-loris clients do.
      await idle.at(-1)!.write('GET /graphql HTTP/1.1\r\n');
    }
    await waitFor('the oldest connections to be dropped', () => idle.filter((c) => c.closedAt === null).length <= 20, 5_000);
    await sleep(200);
    const open = idle.map((connection) => connection.closedAt === null);
    expect(open.filter(Boolean).length).toBe(20);
    // The newest are the ones left.
    expect(open.slice(-20).every(Boolean)).toBe(true);

    expect(await gqlData(gateway.graphqlUrl, tenant.token, '{ viewer { tokenId } }')).toEqual({ viewer: { tokenId: tenant.tokenId } });
    expect((await wsExecute(worker, '{ viewer { tokenId } }')).errors).toBeUndefined();
    expect(workerClosed).toBe(false);
    for (const connection of idle) connection.destroy();
    await worker.dispose();
  }, 30_000);
});
