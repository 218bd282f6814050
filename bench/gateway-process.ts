import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { sleep } from './stats.ts';

export interface GatewayProcess {
  pid: number;
  url: string;
  /** The metrics listener's /metrics (loopback). */
  metricsUrl: string;
  graphqlUrl: string;
  wsUrl: string;
  /** Resident set size now, from /proc/<pid>/status (VmRSS). */
  rssKiB(): number;
  /** SIGTERM, then waits for the exit (SIGKILL after 30 s); returns the exit code. */
  stop(): Promise<number | null>;
}

export interface GatewaySpawnOptions {
  databaseUrl: string;
  /** Apply migrations on start (the first gateway of a run does). */
  migrate: boolean;
  /** Write a V8 CPU profile of the whole process life into this directory. */
  cpuProfileDir?: string | undefined;
  label: string;
}

const ROOT = path.resolve(import.meta.dirname, '..');

/** A TCP port free on the loopback address now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function readRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

/** The only settings the bench gives a gateway: where it listens, its database, whether it migrates. */
export function placement(databaseUrl: string, port: number | string, metricsPort: number | string, migrate: boolean): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    JOBGATE_METRICS_PORT: String(metricsPort),
    JOBGATE_MIGRATE_ON_START: String(migrate),
  };
}

/** The bench's own environment without any gateway setting, so that none leaks into a run. */
function withoutGatewaySettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('JOBGATE_') && name !== 'LOG_LEVEL' && name !== 'DATABASE_DIRECT_URL'));
}

/** Starts `node src/main.ts` as users run it, and waits until /ready answers 200. */
export async function spawnGateway(options: GatewaySpawnOptions): Promise<GatewayProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const nodeArgs = options.cpuProfileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=gateway-${options.label}-${Date.now()}.cpuprofile`]
    : [];
  // e.g. BENCH_GATEWAY_NODE_ARGS=--perf-basic-prof to read the gateway with `perf record -p <pid>`.
  nodeArgs.push(...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean));
  // Where to listen and which database: nothing else. Every other setting (log level, limits,
  // pools, timeouts) is the default a user gets from `npm start`.
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...withoutGatewaySettings(process.env),
      ...placement(options.databaseUrl, port, metricsPort, options.migrate),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-16_384);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`gateway exited with ${exitCode} before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready after 90 s:\n${output}`);
    }
    const ready = await fetch(`${url}/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) break;
    await sleep(100);
  }
  const pid = child.pid!;
  return {
    pid,
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    rssKiB: () => readRssKiB(pid),
    async stop() {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      // It logs every operation at info (the default level): its warnings and errors deserve a look.
      const lines = output.split('\n');
      if (output.length >= 16_384) lines.shift(); // cut by the tail: not a whole line
      const warnings = lines.filter((line) => Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) >= 40 || (line.trim() !== '' && !line.startsWith('{')));
      if (warnings.length)
        process.stderr.write(`gateway ${options.label} exited with ${code}; its warnings and errors (of its last 16 KiB of output):\n${warnings.join('\n')}\n`);
      return code;
    },
  };
}
