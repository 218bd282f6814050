import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { PostgresServer } from '../../src/db/postgres-server.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'jobgate-broken-native-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('a server binary that cannot run is an error of initialise() and start(), not a crash', async () => {
  const nativeDir = path.join(dir, 'native');
  await mkdir(path.join(nativeDir, 'bin'), { recursive: true });
  await writeFile(path.join(nativeDir, 'bin', 'initdb'), 'not a program', { mode: 0o644 });
  const server = new PostgresServer({
    runtime: { nativeDir, account: null, sharedDir: null },
    databaseDir: path.join(dir, 'data'),
    port: 1,
    user: 'jobgate',
    password: 'jobgate',
  });
  await expect(server.initialise()).rejects.toThrow(/initdb failed: .*EACCES/);
  await expect(server.start()).rejects.toThrow(/could not run .*bin\/postgres: .*ENOENT/);
});
