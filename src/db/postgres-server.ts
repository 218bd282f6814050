import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PostgresRuntime } from './postgres-runtime.ts';

export interface PostgresServerOptions {
  runtime: PostgresRuntime;
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  /** Extra `postgres` arguments (`-c name=value` pairs). */
  flags?: string[];
  /** The server's own output, line by line. */
  onLog?: (line: string) => void;
}

/** English, whatever the machine's locale: start() waits for one of the server's lines. */
const MESSAGES_ENV = { LC_MESSAGES: 'C' };
const READY = 'database system is ready to accept connections';
const KEEP_OUTPUT = 8_000;

/**
 * One PostgreSQL server process from the runtime's binaries: initdb, start,
 * stop. Every failure to run a binary is an error the caller gets, with the
 * binary's output.
 */
export class PostgresServer {
  readonly #options: PostgresServerOptions;
  #process: ChildProcess | undefined;
  #stopOnExit: (() => void) | undefined;

  constructor(options: PostgresServerOptions) {
    this.#options = options;
  }

  #binary(name: string): string {
    return path.join(this.#options.runtime.nativeDir, 'bin', name);
  }

  /** How a binary is run: as the runtime's account, from a directory that account can enter. */
  #spawnOptions() {
    const { account, nativeDir } = this.#options.runtime;
    return { ...(account ? { uid: account.uid, gid: account.gid } : {}), cwd: nativeDir, env: { ...process.env, ...MESSAGES_ENV } };
  }

  /** Creates the cluster in an empty or missing `databaseDir`. */
  async initialise(): Promise<void> {
    const { databaseDir, user, password, runtime } = this.#options;
    await mkdir(databaseDir, { recursive: true, mode: 0o700 });
    // initdb reads the password from a file: one only the server's account can read, next to the data.
    const passwordFile = path.join(path.dirname(databaseDir), `.pgpass-${randomBytes(6).toString('hex')}`);
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    try {
      if (runtime.account) {
        await chown(databaseDir, runtime.account.uid, runtime.account.gid);
        await chown(passwordFile, runtime.account.uid, runtime.account.gid);
      }
      const args = [`--pgdata=${databaseDir}`, '--auth=password', `--username=${user}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--no-locale'];
      await promisify(execFile)(this.#binary('initdb'), args, this.#spawnOptions()).catch((error: Error & { stderr?: string }) => {
        throw new Error(`initdb failed: ${error.message}${error.stderr ? `\n${error.stderr.slice(-KEEP_OUTPUT)}` : ''}`);
      });
    } finally {
      await rm(passwordFile, { force: true });
    }
  }

  /** Starts the server; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.#process) return;
    const { databaseDir, port, flags = [], onLog } = this.#options;
    const child = spawn(this.#binary('postgres'), ['-D', databaseDir, '-p', String(port), ...flags], {
      ...this.#spawnOptions(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', (error) => reject(new Error(`could not run ${this.#binary('postgres')}: ${error.message}`)));
      child.once('exit', (code, signal) => reject(new Error(`PostgreSQL exited while starting (code ${code}, signal ${signal}):\n${output}`)));
      child.stderr?.setEncoding('utf8');
      // Read for as long as it runs: a full pipe would block the server.
      child.stderr?.on('data', (chunk: string) => {
        output = (output + chunk).slice(-KEEP_OUTPUT);
        for (const line of chunk.split('\n')) if (line.trim()) onLog?.(line.trim());
        if (output.includes(READY)) resolve();
      });
    });
    this.#process = child;
    // Never leave the server behind when this process exits without stopping it.
    this.#stopOnExit = () => child.kill('SIGINT');
    process.once('exit', this.#stopOnExit);
  }

  /**
   * Fast shutdown (SIGINT: every connection is cut) or, `immediate`, a crash
   * (SIGQUIT: no checkpoint, recovery at the next start). A server that does
   * not stop within `killAfterMs` is killed.
   */
  async stop(killAfterMs = 20_000, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const child = this.#process;
    if (!child) return;
    if (this.#stopOnExit) process.off('exit', this.#stopOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      await exited;
      clearTimeout(timer);
    }
    this.#process = undefined;
  }
}
