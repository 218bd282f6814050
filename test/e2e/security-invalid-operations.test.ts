import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';

let gateway: TestGateway;
const sockets: { dispose(): unknown }[] = [];

beforeAll(async () => {
  gateway = await startGateway();
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await gateway.stop();
});

/** A tenant whose own operation rate is `perSecond` (bursts of twice that): a handful of requests empties its bucket. */
async function tenantAt(perSecond: number): Promise<TestTenant> {
  const tenant = await createTestTenant(gateway);
  await gateway.services.prisma.tenant.update({ where: { id: tenant.tenant.id }, data: { operationsPerSecond: perSecond } });
  return tenant;
}

const VALID = '{ viewer { tokenId } }';
const codes = (results: { body: { errors?: { extensions?: { code?: string } }[] } }[]) => results.map((r) => r.body.errors?.[0]?.extensions?.code ?? 'OK');

describe('operations that fail before execution count against the operation rate', () => {
  it.each([
    ['do not parse', '{ viewer { tokenId ', 'GRAPHQL_PARSE_FAILED'],
    ['do not validate', '{ viewer { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
  ])('over HTTP: documents that %s empty the bucket, then RATE_LIMITED (429)', async (_what, document, code) => {
    const tenant = await tenantAt(1);
    const results = await Promise.all(Array.from({ length: 12 }, () => httpGraphql(gateway.graphqlUrl, tenant.token, document)));
    const seen = codes(results);
    // The burst (2) and what refilled meanwhile get the document's own error; the rest are refused.
    expect(seen.filter((c) => c === code).length).toBeGreaterThanOrEqual(2);
    expect(seen.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(8);
    expect(results.find((r) => codes([r])[0] === 'RATE_LIMITED')?.status).toBe(429);
    // Two valid ones at once: the burst would admit both, had the failures not spent it; a loaded
    // machine may refill one token by now, never two within two seconds.
    const next = await Promise.all([0, 1].map(() => httpGraphql(gateway.graphqlUrl, tenant.token, VALID)));
    const refused = next.find((r) => r.status === 429);
    expect(refused?.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'operations' });
  });

  it('over graphql-ws: documents that do not parse or validate empty the bucket too', async () => {
    const tenant = await tenantAt(1);
    const client = wsClient(gateway.wsUrl, { token: tenant.token }, { lazy: false });
    sockets.push(client);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        wsExecute(client, n % 2 ? '{ viewer { tokenId ' : '{ viewer { nope } }').catch((errors: unknown) => ({
          errors: errors as { extensions?: { code?: string } }[],
        })),
      ),
    );
    const seen = results.map((r) => r.errors?.[0]?.extensions?.code);
    expect(seen.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(8);
    const next = await wsExecute(client, VALID);
    expect(next.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'operations' });
  });

  it('still counts an operation that runs once, not twice', async () => {
    const tenant = await tenantAt(5);
    const results = await Promise.all(Array.from({ length: 10 }, () => httpGraphql(gateway.graphqlUrl, tenant.token, VALID)));
    expect(codes(results)).toEqual(Array<string>(10).fill('OK'));
  });
});
