import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';

// Safe defaults for browsers: CORS without credentials for arbitrary origins.

const QUERY = JSON.stringify({ query: '{ viewer { tokenId } }' });

function preflight(gateway: TestGateway, origin: string): Promise<Response> {
  return fetch(gateway.graphqlUrl, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
}

function post(gateway: TestGateway, origin: string, token: string | null): Promise<Response> {
  return fetch(gateway.graphqlUrl, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: QUERY,
  });
}

describe('CORS by default', () => {
  let gateway: TestGateway;
  let tenant: TestTenant;

  beforeAll(async () => {
    gateway = await startGateway();
    tenant = await createTestTenant(gateway);
  });

  afterAll(async () => {
    await gateway.stop();
  });

  it('lets any origin call with a token, never with credentials', async () => {
    const allowed = await preflight(gateway, 'https://anyone.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://anyone.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    for (const token of [tenant.token, null]) {
      const response = await post(gateway, 'https://anyone.example', token);
      expect(response.status).toBe(token ? 200 : 401);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://anyone.example');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('vary')).toMatch(/Origin/);
    }
  });
});

describe('CORS with JOBGATE_CORS_ORIGINS', () => {
  let gateway: TestGateway;
  let tenant: TestTenant;

  beforeAll(async () => {
    gateway = await startGateway({ corsOrigins: ['https://app.example'] });
    tenant = await createTestTenant(gateway);
  });

  afterAll(async () => {
    await gateway.stop();
  });

  it('allows the listed origins, with credentials, and no other', async () => {
    const listed = await preflight(gateway, 'https://app.example');
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    for (const token of [tenant.token, null]) {
      const response = await post(gateway, 'https://app.example', token);
      expect(response.status).toBe(token ? 200 : 401);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    }
    for (const origin of ['https://evil.example', 'null']) {
      const refused = await preflight(gateway, origin);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
      const response = await post(gateway, origin, tenant.token);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});
