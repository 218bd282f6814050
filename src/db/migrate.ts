import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { projectRoot } from '../paths.ts';

const run = promisify(execFile);

const prismaCli = path.join(path.dirname(createRequire(import.meta.url).resolve('prisma/package.json')), 'build/index.js');
const preload = fileURLToPath(new URL('./unref-engine-timers.ts', import.meta.url));

function prismaArgs(args: readonly string[]): string[] {
  return ['--import', preload, prismaCli, ...args];
}

function prismaEnv(databaseUrl: string | undefined): NodeJS.ProcessEnv {
  return { ...process.env, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
}

/** Runs a Prisma CLI command in the foreground (stdio inherited); resolves to its exit code. */
export function runPrismaCli(args: readonly string[], databaseUrl?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, prismaArgs(args), { cwd: projectRoot, env: prismaEnv(databaseUrl), stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/**
 * Applies the committed Prisma migrations (`prisma migrate deploy`). Prisma
 * holds an advisory lock meanwhile, so gateways starting together are safe.
 */
export async function applyPrismaMigrations(databaseUrl: string): Promise<string> {
  const { stdout } = await run(process.execPath, prismaArgs(['migrate', 'deploy']), {
    cwd: projectRoot,
    env: prismaEnv(databaseUrl),
  });
  return stdout;
}
