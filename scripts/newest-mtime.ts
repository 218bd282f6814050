import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The newest modification time under `target` (a file or a directory), leaving out the paths in `skip`; 0 when absent. */
export function newestMtime(target: string, skip: ReadonlySet<string> = new Set()): number {
  if (!existsSync(target) || skip.has(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry), skip));
  return newest;
}
