import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, realpath, rmdir, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { canEnter } from './postgres-account.ts';
import type { PostgresRuntime } from './postgres-runtime.ts';

/**
 * Where the server keeps the data asked for at `wanted`: there, when the
 * account it runs as can reach it; otherwise in a directory of its own under
 * the runtime's shared directory, linked from `wanted` (a symbolic link), so
 * later starts and anyone looking at `wanted` find it.
 */
export async function reachableDatabaseDir(wanted: string, runtime: PostgresRuntime, logger: Logger): Promise<string> {
  const { account, sharedDir } = runtime;
  if (!account || !sharedDir) return wanted;
  const current = await realpath(wanted).catch(() => null);
  if (await canEnter(current ?? path.dirname(wanted), account)) return current ?? wanted;
  if (current && existsSync(path.join(current, 'PG_VERSION'))) {
    throw new Error(
      `the embedded PostgreSQL runs as the "${account.name}" user when started as root, and it cannot reach its data in ${current}; ` +
        'move that directory where it can and set JOBGATE_DATA_DIR to its parent, or set DATABASE_URL',
    );
  }
  // No data there: an old link or an empty directory left by a failed start gives way to the new link.
  const existing = await lstat(wanted).catch(() => null);
  if (existing?.isSymbolicLink()) await unlink(wanted);
  else if (existing) await rmdir(wanted);
  const dataRoot = path.join(sharedDir, 'data');
  await mkdir(dataRoot, { recursive: true, mode: 0o755 });
  await chmod(dataRoot, 0o755);
  const databaseDir = await mkdtemp(path.join(dataRoot, 'jobgate-'));
  await chown(databaseDir, account.uid, account.gid);
  await symlink(databaseDir, wanted);
  logger.info(
    { dataDir: databaseDir, link: wanted },
    `the "${account.name}" user the embedded PostgreSQL runs as cannot reach ${path.dirname(wanted)}: its data is in ${databaseDir}, linked from ${wanted}`,
  );
  return databaseDir;
}
