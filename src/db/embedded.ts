import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { postgresRuntime } from './postgres-runtime.ts';
import { PostgresServer } from './postgres-server.ts';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'jobgate';
const USER = 'jobgate';
const PASSWORD = 'jobgate';
/** Where the embedded server's port is kept, so the CLI (and a restart) find it again. */
const PORT_FILE = 'postgres.port';

export function embeddedDatabaseUrl(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/** The URL of the embedded server of `dataDir`, if one was ever started there. */
export async function embeddedUrlFor(dataDir: string): Promise<string | null> {
  const port = Number(await readFile(path.join(dataDir, PORT_FILE), 'utf8').catch(() => ''));
  return Number.isInteger(port) && port > 0 ? embeddedDatabaseUrl(port) : null;
}

async function createDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * As root, the server runs as a `postgres` system user,
 * which must be able to traverse every directory above the data directory.
 */
async function assertReachableByOthers(dir: string): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `the embedded PostgreSQL runs as the "postgres" user when started as root, and it cannot enter ${current}; ` +
          'set JOBGATE_DATA_DIR to a directory it can reach (for example /var/lib/jobgate) or set DATABASE_URL',
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/**
 * Zero-setup PostgreSQL for a first run: a real server binary from the npm
 * registry, data under `dataDir`, listening on loopback only.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const databaseDir = path.join(dataDir, 'postgres');
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const runtime = await postgresRuntime();
  if (runtime.account) await assertReachableByOthers(databaseDir);
  const previous = Number(await readFile(path.join(dataDir, PORT_FILE), 'utf8').catch(() => ''));
  const port = Number.isInteger(previous) && previous > 0 && (await portFree(previous)) ? previous : await freePort();
  await writeFile(path.join(dataDir, PORT_FILE), String(port));
  const server = new PostgresServer({
    runtime,
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    flags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (line) => logger.debug({ embeddedPostgres: line }, 'embedded postgres'),
  });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) await server.initialise();
  await server.start();
  try {
    if (fresh) await createDatabase(port);
  } catch (error) {
    await server.stop();
    throw error;
  }
  logger.info({ dataDir: databaseDir, port }, 'DATABASE_URL is not set: running an embedded PostgreSQL');
  return {
    url: embeddedDatabaseUrl(port),
    stop: () => server.stop(),
  };
}
