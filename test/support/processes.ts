/**
 * Real processes for the fault tests (test/e2e/faults-*.test.ts): gateways run
 * as `node src/main.ts` children, the `jobgate` CLI, and a private embedded
 * PostgreSQL that a test may stop and start without disturbing the shared one.
 * Everything started here is tracked and torn down by `cleanupProcesses()`,
 * even when a test fails halfway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import type { ScopeName } from '../../src/auth/scopes.ts';
import { createTenant } from '../../src/auth/tenants.ts';
import { issueToken } from '../../src/auth/tokens.ts';
import { postgresRuntime } from '../../src/db/postgres-runtime.ts';
import { PostgresServer } from '../../src/db/postgres-server.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { uniqueName } from './gateway.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; fails with `what` (and the last error) after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// ---- child processes ----

const children = new Set<ChildProcess>();
const cleanups = new Set<() => Promise<void>>();

/** Last resort: never leave a gateway or PostgreSQL behind when the Jest worker exits. */
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly graphqlUrl: string;
  readonly wsUrl: string;
  /** stdout and stderr so far (LOG_LEVEL=warn: warnings and errors only). */
  output(): string;
  readonly exited: Promise<Exit>;
  readonly running: boolean;
  /** Sends a signal to the child only (never its group). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<Exit>;
}

export interface SpawnGatewayOptions {
  databaseUrl: string;
  port?: number;
  /** Extra environment (JOBGATE_* settings). */
  env?: Record<string, string>;
  /** How long to wait for /ready (default 30 s). */
  readyTimeoutMs?: number;
  /** Start it as the README does, `npm start` (the child is npm), instead of `node src/main.ts`. */
  npmStart?: boolean;
}

/** `node src/main.ts` (or `npm start`) as a child process on a free port; resolves once `/ready` answers 200. */
export async function spawnGateway(options: SpawnGatewayOptions): Promise<GatewayProcess> {
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: options.databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    JOBGATE_MIGRATE_ON_START: 'false',
    JOBGATE_METRICS_PORT: '0',
    ...options.env,
  };
  // npm test sets npm_execpath: the npm the user ran the tests with.
  const command = options.npmStart
    ? process.env.npm_execpath
      ? [process.execPath, process.env.npm_execpath, 'start']
      : ['npm', 'start']
    : [process.execPath, 'src/main.ts'];
  const child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = exitOf(child);
  void exited.then(() => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const gateway: GatewayProcess = {
    child,
    pid: child.pid!,
    port,
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    output: () => output,
    exited,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    signal(signal) {
      if (gateway.running) child.kill(signal);
    },
    async stop(timeoutMs = 15_000) {
      if (!gateway.running) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
  cleanups.add(async () => {
    await gateway.stop(5_000);
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (!gateway.running) {
      throw new Error(`gateway child exited before it was ready (${JSON.stringify(await exited)}):\n${output}`);
    }
    if ((await readyStatus(url)) === 200) return gateway;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway child not ready within ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`);
    }
    await sleep(100);
  }
}

/** HTTP status of `/ready`, or 0 when nothing answers. */
export async function readyStatus(url: string, timeoutMs = 3_000): Promise<number> {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** Runs `node src/cli/main.ts <args> --json` and parses its JSON output. */
export function runCli<T = any>(databaseUrl: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', ...args, '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code !== 0) {
        reject(new Error(`jobgate ${args.join(' ')} exited with ${code}: ${stderr || stdout}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`jobgate ${args.join(' ')} printed no JSON: ${stdout} ${stderr}`));
      }
    });
  });
}

/** A tenant and a token in the database at `databaseUrl`, created the way the CLI does it. */
export async function createTenantIn(
  databaseUrl: string,
  scopes: readonly ScopeName[] = ['PUBLISH', 'READ', 'WORK'],
): Promise<{ tenantId: string; name: string; token: string }> {
  const prisma = createPrisma(databaseUrl);
  try {
    const tenant = await createTenant(prisma, uniqueName('faults'));
    const issued = await issueToken(prisma, { tenantId: tenant.id, scopes });
    return { tenantId: tenant.id, name: tenant.name, token: issued.token };
  } finally {
    await prisma.$disconnect();
  }
}

// ---- a private PostgreSQL ----

export interface PrivatePostgres {
  readonly port: number;
  /** The `jobgate` database on it. */
  readonly url: string;
  readonly running: boolean;
  /** Fast shutdown (SIGINT): every connection is cut. */
  stop(): Promise<void>;
  /**
   * What `pg_ctl restart -m <mode>` does, to the postmaster this module runs:
   * `fast` (SIGINT: connections cut, checkpoint) or `immediate` (SIGQUIT: no
   * checkpoint, crash recovery on the way up). `whileDown` runs in between.
   */
  restart(mode: 'fast' | 'immediate', whileDown?: () => Promise<void>): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server of our own (the embedded PostgreSQL's binaries), on a
 * free port with its data in a temporary directory: a test may stop and
 * restart it while other test files keep using the machine's PostgreSQL.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jobgate-faults-pg-'));
  // As root the server runs as the `postgres` user, which must traverse this directory.
  await chmod(dataDir, 0o755);
  const databaseDir = path.join(dataDir, 'postgres');
  const port = await freePort();
  const user = 'jobgate';
  const password = 'jobgate';
  let log = '';
  const server = new PostgresServer({
    runtime: await postgresRuntime(),
    databaseDir,
    port,
    user,
    password,
    flags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (line) => {
      log = (log + line + '\n').slice(-20_000);
    },
  });
  let running = false;
  let destroyed = false;
  const stop = async () => {
    if (!running) return;
    await server.stop();
    running = false;
  };
  const restart = async (mode: 'fast' | 'immediate', whileDown?: () => Promise<void>) => {
    if (!running) throw new Error('private PostgreSQL is not running');
    await server.stop(20_000, mode);
    running = false;
    await whileDown?.();
    await start();
  };
  const start = async () => {
    if (running) return;
    try {
      await server.start();
    } catch (error) {
      throw new Error(`private PostgreSQL did not start: ${String(error)}\n${log}`);
    }
    running = true;
  };
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    cleanups.delete(destroy);
    await stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  };
  cleanups.add(destroy);
  try {
    await server.initialise();
    await start();
    const admin = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres' });
    await admin.connect();
    await admin.query('CREATE DATABASE jobgate').finally(() => admin.end());
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    port,
    url: `postgresql://${user}:${password}@127.0.0.1:${port}/jobgate`,
    get running() {
      return running;
    },
    stop,
    start,
    restart,
    destroy,
  };
}

// ---- PgBouncer ----

/** Debian's pgbouncer binary, if installed (the test that needs it skips without it). */
export function findPgBouncer(): string | undefined {
  for (const candidate of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) if (existsSync(candidate)) return candidate;
  return undefined;
}

export interface PgBouncer {
  readonly port: number;
  /** The `jobgate` database through the pooler. */
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A pgbouncer process of our own on a free port, in front of `target`, with a
 * stock setting for startup parameters (`ignore_startup_parameters =
 * extra_float_digits`): it refuses any other, `options` included.
 */
export async function startPgBouncer(binary: string, target: PrivatePostgres, mode: 'session' | 'transaction'): Promise<PgBouncer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'jobgate-pgbouncer-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  await writeFile(path.join(dir, 'userlist.txt'), '"jobgate" "jobgate"\n', { mode: 0o644 });
  await writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `jobgate = host=127.0.0.1 port=${target.port} dbname=jobgate user=jobgate password=jobgate`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      `pool_mode = ${mode}`,
      // Session mode gives each client connection a server connection of its own: a gateway keeps ~30.
      'default_pool_size = 60',
      'max_client_conn = 500',
      'ignore_startup_parameters = extra_float_digits',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  // PgBouncer refuses to run as root.
  const args = [...(process.getuid?.() === 0 ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-50_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = exitOf(child);
  void exited.then(() => children.delete(child));
  const stop = async () => {
    cleanups.delete(stop);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  cleanups.add(stop);
  await waitUntil(
    'pgbouncer to listen',
    async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${output}`);
      return new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => (socket.end(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
    },
    10_000,
  );
  return { port, url: `postgresql://jobgate:jobgate@127.0.0.1:${port}/jobgate`, output: () => output, stop };
}

/** Stops every child process and private PostgreSQL started by this module (afterAll). */
export async function cleanupProcesses(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.allSettled(pending.map((cleanup) => cleanup()));
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// ---- WebSocket helpers ----

export interface SocketLog {
  /** Sockets that reached OPEN. */
  opened: number;
  /** Close codes, in order. */
  closes: number[];
}

/** A `ws` WebSocket class that records opens and close codes of its sockets (for the worker SDK's `webSocketImpl`). */
export function recordingWebSocket(log: SocketLog): unknown {
  return class RecordingWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      this.on('open', () => log.opened++);
      this.on('close', (code: number) => log.closes.push(code));
    }
  };
}

/** Stops an SDK worker, giving up after `timeoutMs` (its gateway may be gone for good). */
export async function stopWithin(stop: () => Promise<void>, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stop().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
