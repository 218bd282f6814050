/**
 * @jobgate/client as its users get it: `npm pack` of the workspace, `npm install`
 * of the tarball in a fresh project without TypeScript (its dependencies come
 * from the registry or npm's cache), then a plain .mjs script on the project's
 * Node that starts a worker, sends jobs with the producer and waits for them.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createTestTenant, startGateway, uniqueName, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { REPO_ROOT } from '../support/processes.ts';

const CLIENT_DIR = path.join(REPO_ROOT, 'packages', 'client');
const run = promisify(execFile);

let gateway: TestGateway;
let tenant: TestTenant;
const sql = useTestClient();
let workDir: string;

/** The environment of this run without what an enclosing `npm test` exported about the repository. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const npmOwn = key.startsWith('npm_') && !key.startsWith('npm_config_');
    if (!npmOwn && key !== 'npm_config_local_prefix' && key !== 'NODE_PATH' && key !== 'NODE_OPTIONS') env[key] = value;
  }
  // Lifecycle scripts (the package's prepack) run on this Node, like the rest of the project.
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  return env;
}

async function npm(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run('npm', args, { cwd, env: childEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
  }
}

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'jobgate-client-package-'));
});

afterAll(async () => {
  await gateway?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

it('packs, installs into a plain project and works jobs sent by its producer exactly once', async () => {
  // npm pack runs the package's prepack, which builds dist when it is missing or stale.
  await npm(['pack', '--pack-destination', workDir], CLIENT_DIR);
  const [tarball, ...others] = (await readdir(workDir)).filter((name) => name.endsWith('.tgz'));
  expect({ tarball, others }).toEqual({ tarball: 'jobgate-client-0.2.0.tgz', others: [] });
  const { stdout: listing } = await run('tar', ['-tzf', path.join(workDir, tarball!)]);
  const files = listing.split('\n').filter(Boolean);
  expect(files).toEqual(
    expect.arrayContaining([
      'package/package.json',
      'package/README.md',
      'package/LICENSE',
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/worker.js',
      'package/dist/producer.js',
    ]),
  );
  expect(files.filter((file) => !file.startsWith('package/dist/') && !['package/package.json', 'package/README.md', 'package/LICENSE'].includes(file))).toEqual(
    [],
  );

  const project = path.join(workDir, 'project');
  await mkdir(project);
  await writeFile(path.join(project, 'package.json'), `${JSON.stringify({ name: 'client-package-smoke', version: '1.0.0', private: true }, null, 2)}\n`);
  await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(workDir, tarball!)], project);
  const installed = JSON.parse(await readFile(path.join(project, 'node_modules', '@jobgate', 'client', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(Object.keys(installed.dependencies).sort()).toEqual(['graphql-ws', 'ws']);
  // npm adds graphql as graphql-ws's peer; the package must run without it.
  await rm(path.join(project, 'node_modules', 'graphql'), { recursive: true, force: true });

  const script = path.join(project, 'smoke.mjs');
  await copyFile(path.join(REPO_ROOT, 'test', 'support', 'smoke-client.mjs'), script);
  const queue = uniqueName('client-package');
  const { stdout } = await run(process.execPath, [script], {
    cwd: project,
    env: { ...childEnv(), JOBGATE_HTTP_URL: gateway.graphqlUrl, JOBGATE_WS_URL: gateway.wsUrl, JOBGATE_TOKEN: tenant.token, QUEUE: queue },
    timeout: 90_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    sent: { id: string; queue: string; state: string }[];
    handled: Record<string, number>;
    refused: { isJobgateError: boolean; code: string };
  };
  expect(result.sent.map(({ queue: name, state }) => ({ name, state }))).toEqual(Array.from({ length: 5 }, () => ({ name: queue, state: 'CREATED' })));
  expect(result.handled).toEqual({ 0: 1, 1: 1, 2: 1, 3: 1, 4: 1 });
  expect(result.refused).toEqual({ isJobgateError: true, code: 'BAD_USER_INPUT' });

  const { rows } = await sql.query<{ id: string; state: string; retry_count: number; output: unknown; n: string }>(
    "SELECT id, state, retry_count, output, data->>'n' AS n FROM pgboss.job WHERE name = $1 ORDER BY (data->>'n')::int",
    [`${tenant.tenant.id}/${queue}`],
  );
  expect(rows.map((row) => row.id).sort()).toEqual(result.sent.map((job) => job.id).sort());
  expect(rows.map(({ state, retry_count, output, n }) => ({ n, state, retry_count, output }))).toEqual(
    Array.from({ length: 5 }, (_, n) => ({ n: String(n), state: 'completed', retry_count: 0, output: { doubled: n * 2 } })),
  );
}, 300_000);
