import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { revokeToken, rotateToken } from '../../src/auth/tokens.ts';
import { issueToken } from '../../src/auth/tokens.ts';
import { httpGraphql } from '../support/clients.ts';
import { createTestTenant, issueExtraToken, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { sleep } from '../support/subscriptions.ts';

const VIEWER = '{ viewer { tokenId } }';

let first: TestGateway;
let second: TestGateway;
let tenant: TestTenant;

beforeAll(async () => {
  [first, second] = await Promise.all([startGateway(), startGateway()]);
  tenant = await createTestTenant(first);
});

afterAll(async () => {
  await Promise.all([first.stop(), second.stop()]);
});

/** An acknowledged graphql-ws socket, and how it ends. */
async function liveSocket(gateway: TestGateway, token: string): Promise<{ closed: Promise<{ code: number; at: number }> }> {
  const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; at: number }>((resolve) => socket.once('close', (code) => resolve({ code, at: Date.now() })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { token } })));
    socket.on('message', (raw) => {
      if (JSON.parse(String(raw)).type === 'connection_ack') resolve();
    });
    socket.once('close', (code) => reject(new Error(`closed ${code} before ack`)));
  });
  return { closed };
}

/** A jobEvents subscription over server-sent events; its results as they come, and when the stream ended. */
async function liveSse(gateway: TestGateway, token: string): Promise<{ results: { errors?: { extensions?: { code?: string } }[] }[]; ended: Promise<number> }> {
  const response = await fetch(gateway.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'subscription { jobEvents { type jobId } }' }),
  });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const results: { errors?: { extensions?: { code?: string } }[] }[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return Date.now();
      buffered += value;
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const data = buffered
          .slice(0, end)
          .split('\n')
          .find((line) => line.startsWith('data:'));
        buffered = buffered.slice(end + 2);
        if (data && data.length > 5) results.push(JSON.parse(data.slice(5)) as (typeof results)[number]);
      }
    }
  })();
  // The stream is live once the gateway counts it; a moment is enough here.
  await sleep(300);
  return { results, ended };
}

describe('token lifecycle', () => {
  it('revoking a token closes its live sockets on every instance within a second, and HTTP refuses it', async () => {
    const token = await issueExtraToken(first, tenant.tenant.id, ['READ']);
    const onFirst = await liveSocket(first, token.token);
    const onSecond = await liveSocket(second, token.token);
    // Warm the authentication caches of both instances.
    expect((await httpGraphql(first.graphqlUrl, token.token, VIEWER)).status).toBe(200);
    expect((await httpGraphql(second.graphqlUrl, token.token, VIEWER)).status).toBe(200);
    const revokedAt = Date.now();
    expect(await revokeToken(first.services.prisma, token.id)).toBe(true);
    const [a, b] = await Promise.all([onFirst.closed, onSecond.closed]);
    expect(a.code).toBe(4403);
    expect(b.code).toBe(4403);
    expect(Math.max(a.at, b.at) - revokedAt).toBeLessThan(1000);
    expect((await httpGraphql(first.graphqlUrl, token.token, VIEWER)).status).toBe(401);
    expect((await httpGraphql(second.graphqlUrl, token.token, VIEWER)).status).toBe(401);
  });

  it('revoking a token ends its server-sent-event subscriptions on every instance within a second, with UNAUTHENTICATED', async () => {
    const token = await issueExtraToken(first, tenant.tenant.id, ['READ']);
    const onFirst = await liveSse(first, token.token);
    const onSecond = await liveSse(second, token.token);
    const revokedAt = Date.now();
    expect(await revokeToken(second.services.prisma, token.id)).toBe(true);
    const endedAt = await Promise.all([onFirst.ended, onSecond.ended]);
    expect(Math.max(...endedAt) - revokedAt).toBeLessThan(1000);
    for (const stream of [onFirst, onSecond]) expect(stream.results.at(-1)?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('ends a server-sent-event subscription when its token expires', async () => {
    const expiring = await issueToken(first.services.prisma, { tenantId: tenant.tenant.id, scopes: ['READ'], expiresAt: new Date(Date.now() + 1500) });
    const live = await liveSse(first, expiring.token);
    const at = await live.ended;
    expect(at).toBeGreaterThanOrEqual(expiring.expiresAt!.getTime() - 50);
    expect(at - expiring.expiresAt!.getTime()).toBeLessThan(1000);
    expect(live.results.at(-1)?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('closes a socket when its token expires', async () => {
    const expiring = await issueToken(first.services.prisma, { tenantId: tenant.tenant.id, scopes: ['READ'], expiresAt: new Date(Date.now() + 1500) });
    const live = await liveSocket(first, expiring.token);
    const { code, at } = await live.closed;
    expect(code).toBe(4403);
    expect(at).toBeGreaterThanOrEqual(expiring.expiresAt!.getTime() - 50);
    expect((await httpGraphql(first.graphqlUrl, expiring.token, VIEWER)).status).toBe(401);
  });

  it('rotates: the new token works at once; the old one is revoked, or lives out its grace period', async () => {
    const original = await issueExtraToken(first, tenant.tenant.id, ['READ', 'WORK']);
    const rotated = await rotateToken(first.services.prisma, original.id);
    expect(rotated?.issued.scopes).toEqual(['READ', 'WORK']);
    expect((await httpGraphql(first.graphqlUrl, rotated!.issued.token, VIEWER)).status).toBe(200);
    expect((await httpGraphql(first.graphqlUrl, original.token, VIEWER)).status).toBe(401);

    const graced = await issueExtraToken(first, tenant.tenant.id, ['READ']);
    expect((await httpGraphql(second.graphqlUrl, graced.token, VIEWER)).status).toBe(200);
    const live = await liveSocket(second, graced.token);
    const withGrace = await rotateToken(first.services.prisma, graced.id, 2);
    expect((await httpGraphql(second.graphqlUrl, graced.token, VIEWER)).status).toBe(200);
    expect((await httpGraphql(second.graphqlUrl, withGrace!.issued.token, VIEWER)).status).toBe(200);
    const { code } = await live.closed;
    expect(code).toBe(4403);
    expect((await httpGraphql(second.graphqlUrl, graced.token, VIEWER)).status).toBe(401);
  });

  it('keeps lastUsedAt without a write per request', async () => {
    const token = await issueExtraToken(first, tenant.tenant.id, ['READ']);
    const read = async () => (await first.services.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedAt;
    expect(await read()).toBeNull();
    await httpGraphql(second.graphqlUrl, token.token, VIEWER);
    await sleep(200);
    const firstUse = await read();
    expect(firstUse).toBeInstanceOf(Date);
    for (let n = 0; n < 5; n++) await httpGraphql(first.graphqlUrl, token.token, VIEWER);
    await sleep(200);
    expect(await read()).toEqual(firstUse);
  });
});
