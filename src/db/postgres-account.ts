import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The system user a PostgreSQL server runs as. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
}

const NAME = 'postgres';

async function lookup(): Promise<Account | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', NAME]), run('id', ['-g', NAME])]);
    return { name: NAME, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return null;
  }
}

/**
 * PostgreSQL refuses to run as root: started by root, the server runs as the
 * "postgres" system user, created when the machine has none. Null when the
 * server can run as the current user.
 */
export async function serverAccount(): Promise<Account | null> {
  if (process.getuid?.() !== 0) return null;
  const existing = await lookup();
  if (existing) return existing;
  try {
    await run('groupadd', ['--system', NAME]);
    await run('useradd', ['--system', '--gid', NAME, '--no-create-home', '--shell', '/usr/sbin/nologin', NAME]);
  } catch (error) {
    throw new Error(
      `the embedded PostgreSQL cannot run as root and there is no "${NAME}" user to run it as, nor could one be created (${String(error)}); ` +
        `create a "${NAME}" system user, or set DATABASE_URL`,
      { cause: error },
    );
  }
  const created = await lookup();
  if (!created) throw new Error(`the "${NAME}" user was created but cannot be looked up; set DATABASE_URL`);
  return created;
}

/** Whether `account` can enter `dir`, which needs search permission on every directory above it. */
export async function canEnter(dir: string, account: Account): Promise<boolean> {
  try {
    await run('/bin/sh', ['-c', 'cd -- "$1"', 'sh', dir], { uid: account.uid, gid: account.gid, cwd: '/' });
    return true;
  } catch {
    return false;
  }
}
