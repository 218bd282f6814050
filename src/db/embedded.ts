import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { createDatabase as createDatabaseSql } from '../sql/databases.ts';
import { quoteIdentifier } from '../sql/identifiers.ts';
import { reachableDatabaseDir } from './postgres-data-dir.ts';
import { postgresRuntime, type PostgresRuntimeOptions } from './postgres-runtime.ts';
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
    await client.query(createDatabaseSql(quoteIdentifier(DATABASE)));
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
 * Zero-setup PostgreSQL for a first run: a real server binary from the npm
 * registry, data under `dataDir`, listening on loopback only. Started by
 * root, the server runs as the "postgres" user, from binaries and with data
 * where that user can reach them (see postgres-runtime.ts, postgres-data-dir.ts).
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger, options: PostgresRuntimeOptions = {}): Promise<EmbeddedDatabase> {
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const runtime = await postgresRuntime(options);
  const databaseDir = await reachableDatabaseDir(path.join(dataDir, 'postgres'), runtime, logger);
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
