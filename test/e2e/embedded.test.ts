import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from '@jest/globals';
import { buildApp } from '../../src/app.ts';
import { createTenant } from '../../src/auth/tenants.ts';
import { issueToken } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { gqlData } from '../support/clients.ts';

// The zero-setup path of `npm start` without DATABASE_URL: a real embedded PostgreSQL.
let dataDir: string | undefined;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('starts on an embedded PostgreSQL, answers viewer, and restarts on the same data', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'jobgate-embedded-'));
  await chmod(dataDir, 0o755); // reachable by the postgres user the server runs as under root
  const config = { ...loadConfig({}), databaseUrl: undefined, dataDir, host: '127.0.0.1', port: 0, metricsPort: 0 };

  const first = buildApp(config, createLogger('silent'));
  const started = await first.start();
  let token: string;
  try {
    expect(started.databaseUrl).toMatch(/^postgresql:\/\/jobgate:.*@127\.0\.0\.1:\d+\/jobgate$/);
    const tenant = await createTenant(started.services.prisma, 'embedded');
    token = (await issueToken(started.services.prisma, { tenantId: tenant.id, scopes: ['READ'] })).token;
    const data = await gqlData(`${started.url}/graphql`, token, '{ viewer { tenant { name } } }');
    expect(data).toEqual({ viewer: { tenant: { name: 'embedded' } } });
  } finally {
    await first.stop();
  }

  const second = buildApp(config, createLogger('silent'));
  const restarted = await second.start();
  try {
    const data = await gqlData(`${restarted.url}/graphql`, token, '{ viewer { tenant { name } } }');
    expect(data).toEqual({ viewer: { tenant: { name: 'embedded' } } });
  } finally {
    await second.stop();
  }
}, 120_000);
