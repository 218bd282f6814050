import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import WebSocket from 'ws';
import { createTestTenant, issueExtraToken, startGateway, useGateway, useTestTenant, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { sleep } from '../support/subscriptions.ts';

/** The default: JOBGATE_AUTH_FAILURES_PER_MINUTE, a burst as large. */
const PER_MINUTE = 60;

let gateway: TestGateway;
let tenant: TestTenant;
/** Each test sends from an address of its own (any 127.x.y.z reaches the loopback listener), so each has a bucket of its own. */
let nextAddress = 2;
const freshAddress = () => `127.0.0.${nextAddress++}`;

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  await gateway.stop();
});

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: { errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** A POST to /graphql from `localAddress`, on a connection of its own. */
function post(localAddress: string, token: string | null, headers: Record<string, string> = {}, port = gateway.port): Promise<RawResponse> {
  const body = JSON.stringify({ query: '{ viewer { tokenId } }' });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        localAddress,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as RawResponse['body'] }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a graphql-ws socket from `localAddress`, sends connection_init with `token`, and resolves with how it ended. */
function wsInit(localAddress: string, token: string, url = gateway.wsUrl): Promise<{ acked: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { localAddress });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { token } })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type !== 'connection_ack') return;
      socket.close(1000);
      resolve({ acked: true, code: null });
    });
    socket.once('close', (code) => resolve({ acked: false, code }));
    socket.once('error', () => {});
  });
}

/** Fails from `address` (unknown tokens) until refused; what each answer was, and how long it took. */
async function exhaust(address: string, limit: number): Promise<{ unauthorized: number; refused: RawResponse; seconds: number }> {
  const started = Date.now();
  for (let n = 0; ; n++) {
    const response = await post(address, `bogus-${n}`);
    if (response.status !== 401) return { unauthorized: n, refused: response, seconds: (Date.now() - started) / 1000 };
    if (n > limit * 3) throw new Error(`still 401 after ${n} failures`);
  }
}

describe('failed authentications per client address, with the default limit', () => {
  it('answers 401 up to the limit, then 429 RATE_LIMITED with Retry-After and the connection closed', async () => {
    const { unauthorized, refused, seconds } = await exhaust(freshAddress(), PER_MINUTE);
    // The burst, plus what refilled (one a second) while they were sent.
    expect(unauthorized).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(unauthorized).toBeLessThanOrEqual(PER_MINUTE + Math.ceil(seconds) + 1);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', limit: 'authentication' });
    expect(refused.headers['retry-after']).toBe('1');
    // Nothing is kept for it: the connection closes with the answer.
    expect(refused.headers.connection).toBe('close');
  });

  it('lets the address in again once its bucket refills', async () => {
    const address = freshAddress();
    const { refused } = await exhaust(address, PER_MINUTE);
    await sleep(Number(refused.headers['retry-after']) * 1000 + 100);
    const again = await post(address, tenant.token);
    expect(again.status).toBe(200);
    expect(again.body.errors).toBeUndefined();
  });

  it('counts per address, and only failures', async () => {
    await exhaust(freshAddress(), PER_MINUTE);
    expect((await post(freshAddress(), tenant.token)).status).toBe(200);
    const busy = freshAddress();
    const statuses = await Promise.all(Array.from({ length: PER_MINUTE * 2 }, () => post(busy, tenant.token).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it('counts graphql-ws connection_init failures too, and closes with 4429 past the limit', async () => {
    const address = freshAddress();
    let refusedTokens = 0;
    for (;;) {
      const ended = await wsInit(address, `bogus-${refusedTokens}`);
      if (ended.code !== 4403) {
        expect(ended).toEqual({ acked: false, code: 4429 });
        break;
      }
      if (++refusedTokens > PER_MINUTE * 3) throw new Error('never refused');
    }
    expect(refusedTokens).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(await wsInit(freshAddress(), tenant.token)).toEqual({ acked: true, code: null });
  }, 60_000);
});

describe('failed authentications per client address, refilling slowly', () => {
  // 6 a minute refills one failure every 10 s (the default, one a second): the bucket stays empty
  // through each check however loaded the machine is.
  const SLOW = 6;
  const PROXY = '127.0.0.250';
  // And one loopback address stands for a reverse proxy (JOBGATE_TRUSTED_PROXIES), for the test of X-Forwarded-For.
  const slow = useGateway({ authFailuresPerMinute: SLOW, trustedProxies: new Set([PROXY]) });
  const slowTenant = useTestTenant(slow);

  const postTo = (address: string, token: string | null, headers?: Record<string, string>) => post(address, token, headers, slow.port);
  const failAll = async (address: string) => {
    for (let n = 0; n < SLOW; n++) expect((await postTo(address, `bogus-${n}`)).status).toBe(401);
  };

  it('refuses a valid token from an address over the limit without looking it up', async () => {
    const address = freshAddress();
    const unused = await issueExtraToken(slow, slowTenant.tenant.id, ['READ']);
    await failAll(address);
    const lookups = jest.spyOn(slow.services.authenticator, 'authenticate');
    try {
      const refused = await postTo(address, unused.token);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(5);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(10);
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    // A lookup would have recorded the token's first use.
    const row = await slow.services.prisma.apiToken.findUniqueOrThrow({ where: { id: unused.id } });
    expect(row.lastUsedAt).toBeNull();
  });

  it('ignores X-Forwarded-For by default: a client cannot name another address to escape its bucket', async () => {
    const address = freshAddress();
    await failAll(address);
    expect((await postTo(address, 'bogus-forwarded', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
  });

  it('behind a trusted proxy, counts the address it forwarded for', async () => {
    for (let n = 0; n < SLOW; n++) expect((await postTo(PROXY, `bogus-${n}`, { 'x-forwarded-for': '198.51.100.7, 203.0.113.1' })).status).toBe(401);
    // A client's own X-Forwarded-For entries (left of the proxy's) do not count.
    const unused = await issueExtraToken(slow, slowTenant.tenant.id, ['READ']);
    expect((await postTo(PROXY, unused.token, { 'x-forwarded-for': '198.51.100.8, 203.0.113.1' })).status).toBe(429);
    expect((await postTo(PROXY, slowTenant.token, { 'x-forwarded-for': '203.0.113.2' })).status).toBe(200);
    expect((await postTo(PROXY, slowTenant.token)).status).toBe(200);
  });

  it('keeps one bucket for both transports, and refuses graphql-ws before any lookup', async () => {
    const fromHttp = freshAddress();
    const unused = await issueExtraToken(slow, slowTenant.tenant.id, ['READ']);
    await failAll(fromHttp);
    const lookups = jest.spyOn(slow.services.authenticator, 'authenticate');
    try {
      expect(await wsInit(fromHttp, unused.token, slow.wsUrl)).toEqual({ acked: false, code: 4429 });
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    const fromWs = freshAddress();
    for (let n = 0; n < SLOW; n++) expect(await wsInit(fromWs, `bogus-${n}`, slow.wsUrl)).toEqual({ acked: false, code: 4403 });
    expect((await postTo(fromWs, 'bogus-after-ws')).status).toBe(429);
  });

  it('lets a token found live in the last seconds through an address over the limit, without a lookup', async () => {
    // Clients behind one address (a NAT, a proxy not listed) keep working while one of them fails.
    const address = freshAddress();
    expect((await postTo(address, slowTenant.token)).status).toBe(200);
    await failAll(address);
    expect((await postTo(address, 'bogus-more')).status).toBe(429);
    const lookups = jest.spyOn(slow.services.authenticator, 'authenticate');
    try {
      expect((await postTo(address, slowTenant.token)).status).toBe(200);
      expect(await wsInit(address, slowTenant.token, slow.wsUrl)).toEqual({ acked: true, code: null });
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
  });
});
