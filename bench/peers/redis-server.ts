import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../gateway-process.ts';
import { sleep } from '../stats.ts';

/** What both ioredis and BullMQ take as connection options. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
}

export interface RedisEndpoint {
  connection: RedisConnectionOptions;
  /** e.g. "private redis-server 7.0.15 on port 40123". */
  description: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const file = path.join(dir, 'redis-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The server's version, or undefined when it does not answer. */
async function redisVersion(connection: RedisConnectionOptions): Promise<string | undefined> {
  const client = new Redis({ ...connection, lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function startPrivate(binary: string): Promise<RedisEndpoint> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jobgate-bench-redis-'));
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const connection: RedisConnectionOptions = { host: '127.0.0.1', port };
  const stop = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline && child.exitCode === null) {
    const version = await redisVersion(connection);
    if (version) return { connection, description: `private redis-server ${version} on port ${port}`, stop };
    await sleep(50);
  }
  await stop();
  throw new Error(`${binary} did not answer on port ${port}`);
}

function fromUrl(url: string): RedisConnectionOptions {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
  };
}

/** A private redis-server when one is installed, else REDIS_URL when it answers; a string says why there is none. */
export async function startRedis(): Promise<RedisEndpoint | string> {
  const binary = findRedisServer();
  if (binary) return startPrivate(binary);
  const url = process.env.REDIS_URL;
  if (!url) return 'no Redis reachable: no redis-server installed, REDIS_URL not set';
  const connection = fromUrl(url);
  const version = await redisVersion(connection);
  if (!version) return `no Redis reachable: REDIS_URL (${connection.host}:${connection.port}) does not answer`;
  return { connection, description: `Redis ${version} at REDIS_URL (${connection.host}:${connection.port})`, stop: async () => {} };
}
