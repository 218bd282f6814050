import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashToken } from '../../src/auth/tokens.ts';
import { httpGraphql } from '../support/clients.ts';
import { startGateway, testDatabaseUrl, uniqueName, useTestClient, type TestGateway } from '../support/gateway.ts';

const execFileAsync = promisify(execFile);

async function jobgate(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['src/cli/main.ts', ...args], {
      env: { ...process.env, DATABASE_URL: testDatabaseUrl() },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

async function jobgateJson<T>(...args: string[]): Promise<T> {
  const result = await jobgate(...args, '--json');
  expect(result).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout) as T;
}

const VIEWER = '{ viewer { tenant { id name } scopes } }';

let gateway: TestGateway;
const sql = useTestClient();
beforeAll(async () => {
  gateway = await startGateway();
});
afterAll(async () => {
  await gateway.stop();
});

describe('jobgate CLI', () => {
  const name = uniqueName('cli-tenant');
  let tenantId: string;

  it('creates a tenant and refuses a duplicate name', async () => {
    const tenant = await jobgateJson<{ id: string; name: string }>('tenants', 'create', name);
    expect(tenant.name).toBe(name);
    expect(tenant.id).toMatch(/^t[0-9a-f]{20}$/);
    tenantId = tenant.id;
    const again = await jobgate('tenants', 'create', name);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it('issues a token the server accepts, stored only as a hash', async () => {
    const issued = await jobgateJson<{ id: string; token: string; scopes: string[] }>(
      'tokens',
      'issue',
      '--tenant',
      name,
      '--scopes',
      'READ,WORK',
      '--label',
      'ci',
    );
    expect(issued.token).toMatch(/^jg_[A-Za-z0-9_-]{43}$/);
    expect(issued.scopes).toEqual(['READ', 'WORK']);

    const { rows } = await sql.query<{ token_hash: Buffer; row: string }>(
      'SELECT token_hash, row_to_json(api_token)::text AS row FROM api_token WHERE id = $1',
      [issued.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.row).not.toContain(issued.token);
    expect(Buffer.from(rows[0]!.token_hash)).toEqual(Buffer.from(hashToken(issued.token)));

    const { status, body } = await httpGraphql(gateway.graphqlUrl, issued.token, VIEWER);
    expect(status).toBe(200);
    expect(body.data).toEqual({ viewer: { tenant: { id: tenantId, name }, scopes: ['READ', 'WORK'] } });
  });

  it('imports a known token value with --token and --admin adds ADMIN', async () => {
    const known = `test-customer-token-e2e-${tenantId}`;
    const issued = await jobgateJson<{ token: string; scopes: string[] }>('tokens', 'issue', '--tenant', name, '--token', known, '--admin');
    expect(issued.token).toBe(known);
    expect(issued.scopes).toEqual(['PUBLISH', 'READ', 'WORK', 'ADMIN']);
    const { body } = await httpGraphql(gateway.graphqlUrl, known, VIEWER);
    expect(body.data).toMatchObject({ viewer: { tenant: { id: tenantId } } });
  });

  it('lists tokens without secrets, and revoke makes a token useless', async () => {
    const issued = await jobgateJson<{ id: string; token: string }>('tokens', 'issue', '--tenant', name);
    const listed = await jobgateJson<{ id: string; scopes: string[]; revokedAt: string | null }[]>('tokens', 'list', '--tenant', name);
    expect(listed.map((t) => t.id)).toContain(issued.id);
    expect(JSON.stringify(listed)).not.toContain(issued.token);
    expect(JSON.stringify(listed)).not.toMatch(/token_?hash/i);

    expect((await httpGraphql(gateway.graphqlUrl, issued.token, VIEWER)).status).toBe(200);
    await jobgateJson('tokens', 'revoke', issued.id);
    expect((await httpGraphql(gateway.graphqlUrl, issued.token, VIEWER)).status).toBe(401);
    const twice = await jobgate('tokens', 'revoke', issued.id);
    expect(twice.code).toBe(2);
  });

  it('refuses unknown scopes and unknown tenants clearly', async () => {
    const badScope = await jobgate('tokens', 'issue', '--tenant', name, '--scopes', 'READ,ROOT');
    expect(badScope.code).toBe(1);
    expect(badScope.stderr).toContain('unknown scope(s): ROOT');
    const noTenant = await jobgate('tokens', 'issue', '--tenant', 'no-such-tenant-here');
    expect(noTenant.code).toBe(2);
    expect(noTenant.stderr).toContain('no tenant');
  });

  it('migrate is idempotent', async () => {
    const result = await jobgate('migrate');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('migrations applied');
  });
});
