import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { buildApp, type StartedApp } from '../../src/app.ts';
import type { ScopeName } from '../../src/auth/scopes.ts';
import { createTenant, type TenantRecord } from '../../src/auth/tenants.ts';
import { issueToken } from '../../src/auth/tokens.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { withDatabaseClient } from './database.ts';

export interface TestGateway extends StartedApp {
  graphqlUrl: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests through npm test');
  return url;
}

/**
 * A client on the run's database for the enclosing block: connected before its
 * tests, ended after them. Declare it before the block's own `beforeAll` that uses it.
 */
export function useTestClient(): pg.Client {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  beforeAll(async () => {
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });
  return client;
}

/** Runs `action` on a client of its own on the run's database, ended afterwards. */
export function withTestClient<T>(action: (client: pg.Client) => Promise<T>): Promise<T> {
  return withDatabaseClient(testDatabaseUrl(), action);
}

/** A real gateway on a free port against the run's database. */
export async function startGateway(overrides: Partial<Config> = {}, logger?: Logger): Promise<TestGateway> {
  const config: Config = {
    ...loadConfig({}),
    databaseUrl: testDatabaseUrl(),
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    migrateOnStart: false,
    shutdownGraceSeconds: 2,
    ...overrides,
  };
  const app = buildApp(config, logger ?? createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent'));
  const started = await app.start();
  return {
    ...started,
    graphqlUrl: `${started.url}/graphql`,
    wsUrl: `${started.url.replace(/^http/, 'ws')}/graphql`,
    stop: () => app.stop(),
  };
}

/**
 * A gateway for the enclosing block, started before its tests and stopped after
 * them. The object returned is filled in when it starts: use it in hooks and
 * tests only, and declare it before the block's own `beforeAll` that uses it.
 */
export function useGateway(overrides: Partial<Config> = {}, logger?: Logger): TestGateway {
  const gateway = {} as TestGateway;
  beforeAll(async () => {
    Object.assign(gateway, await startGateway(overrides, logger));
  });
  afterAll(async () => {
    await gateway.stop?.();
  });
  return gateway;
}

export interface TestTenant {
  tenant: TenantRecord;
  token: string;
  tokenId: string;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function createTestTenant(
  gateway: StartedApp,
  scopes: readonly ScopeName[] = ['PUBLISH', 'READ', 'WORK'],
  name = uniqueName('tenant'),
): Promise<TestTenant> {
  const { prisma } = gateway.services;
  const tenant = await createTenant(prisma, name);
  const issued = await issueToken(prisma, { tenantId: tenant.id, scopes });
  return { tenant, token: issued.token, tokenId: issued.id };
}

/** A tenant of `gateway` for the enclosing block, created before its tests (filled in then, as with `useGateway`). */
export function useTestTenant(gateway: StartedApp, scopes?: readonly ScopeName[]): TestTenant {
  const tenant = {} as TestTenant;
  beforeAll(async () => {
    Object.assign(tenant, await createTestTenant(gateway, scopes));
  });
  return tenant;
}

export async function issueExtraToken(gateway: StartedApp, tenantId: string, scopes: readonly ScopeName[]) {
  return issueToken(gateway.services.prisma, { tenantId, scopes });
}
