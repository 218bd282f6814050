import { describe, expect, it } from '@jest/globals';
import { createTestTenant, startGateway, useGateway, useTestTenant, type TestGateway } from '../support/gateway.ts';

// Safe defaults for browsers: CORS without credentials for arbitrary origins, a strict
// policy for the dashboard, GraphiQL that can be turned off on its own.

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
  const gateway = useGateway();
  const tenant = useTestTenant(gateway);

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
  const gateway = useGateway({ corsOrigins: ['https://app.example'] });
  const tenant = useTestTenant(gateway);

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

describe('the dashboard’s headers', () => {
  const gateway = useGateway();

  it('sends a strict Content-Security-Policy, nosniff and a Referrer-Policy on every page and asset', async () => {
    const index = await fetch(`${gateway.url}/dashboard/`);
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThan(1);
    // No inline script for the policy to allow.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const responses = [
      index,
      ...(await Promise.all(assets.map((asset) => fetch(`${gateway.url}${asset}`)))),
      await fetch(`${gateway.url}/dashboard/queues/some-queue`),
      await fetch(`${gateway.url}/dashboard`, { redirect: 'manual' }),
      await fetch(`${gateway.url}/dashboard/assets/missing.js`),
    ];
    for (const response of responses) {
      const csp = response.headers.get('content-security-policy') ?? '';
      expect({ url: response.url, csp }).toEqual({ url: response.url, csp: expect.stringContaining("frame-ancestors 'none'") });
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});

describe('GraphiQL', () => {
  it('is served by default and turned off by JOBGATE_GRAPHIQL=false, introspection aside', async () => {
    const served = await startGateway();
    const off = await startGateway({ graphiql: false });
    try {
      const page = (gateway: TestGateway) => fetch(gateway.graphqlUrl, { headers: { accept: 'text/html' } });
      const shown = await page(served);
      expect(shown.status).toBe(200);
      expect(await shown.text()).toContain('GraphiQL');
      const refused = await page(off);
      expect(refused.status).toBe(401);
      expect(await refused.text()).not.toContain('GraphiQL');
      const tenant = await createTestTenant(off);
      const introspected = await fetch(off.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` },
        body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
      });
      expect(await introspected.json()).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    } finally {
      await Promise.all([served.stop(), off.stop()]);
    }
  });
});
