import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { revokeToken } from '../../src/auth/tokens.ts';
import { issueToken } from '../../src/auth/tokens.ts';
import { httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, issueExtraToken, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';

const VIEWER = '{ viewer { tenant { id name } scopes tokenId } }';

let gateway: TestGateway;
let acme: TestTenant;
const refused: Record<string, string | null> = {};

beforeAll(async () => {
  gateway = await startGateway();
  acme = await createTestTenant(gateway, ['PUBLISH', 'READ']);
  const { prisma } = gateway.services;
  const revoked = await issueExtraToken(gateway, acme.tenant.id, ['READ']);
  await revokeToken(prisma, revoked.id);
  const expired = await issueToken(prisma, { tenantId: acme.tenant.id, scopes: ['READ'], expiresAt: new Date(Date.now() - 1000) });
  refused.missing = null;
  refused.unknown = 'jg_this-token-was-never-issued-000000';
  refused.revoked = revoked.token;
  refused.expired = expired.token;
});

afterAll(async () => {
  await gateway.stop();
});

/** Opens a raw graphql-ws socket, sends connection_init and reports how it ended. */
function rawConnectionInit(url: string, payload: unknown): Promise<{ code: number; acked: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    let acked = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (message) => {
      if (JSON.parse(String(message)).type === 'connection_ack') {
        acked = true;
        socket.close(1000);
      }
    });
    socket.on('close', (code) => resolve({ code, acked }));
    socket.on('error', reject);
  });
}

describe('HTTP authentication', () => {
  it.each(['missing', 'unknown', 'revoked', 'expired'])('refuses a %s token with 401 UNAUTHENTICATED', async (kind) => {
    const { status, body } = await httpGraphql(gateway.graphqlUrl, refused[kind] ?? null, VIEWER);
    expect(status).toBe(401);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a malformed Authorization header', async () => {
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${acme.token}` },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect(response.status).toBe(401);
  });

  it('greets a valid token with its tenant and scopes', async () => {
    const { status, body } = await httpGraphql(gateway.graphqlUrl, acme.token, VIEWER);
    expect(status).toBe(200);
    expect(body.data).toEqual({
      viewer: { tenant: { id: acme.tenant.id, name: acme.tenant.name }, scopes: ['PUBLISH', 'READ'], tokenId: acme.tokenId },
    });
  });
});

describe('graphql-ws authentication', () => {
  it.each(['missing', 'unknown', 'revoked', 'expired'])('closes with 4403 before ack for a %s token', async (kind) => {
    const token = refused[kind];
    const result = await rawConnectionInit(gateway.wsUrl, token === null ? undefined : { token });
    expect(result).toEqual({ code: 4403, acked: false });
  });

  it('accepts the token in connection_init and answers viewer', async () => {
    const client = wsClient(gateway.wsUrl, { token: acme.token });
    try {
      const result = await wsExecute(client, VIEWER);
      expect(result.errors).toBeUndefined();
      expect(result.data?.viewer.tenant.id).toBe(acme.tenant.id);
    } finally {
      await client.dispose();
    }
  });

  it('also accepts { Authorization: "Bearer <token>" }', async () => {
    const result = await rawConnectionInit(gateway.wsUrl, { Authorization: `Bearer ${acme.token}` });
    expect(result.acked).toBe(true);
  });
});
