// Builds the client package (packages/client → packages/client/dist, JavaScript
// and .d.ts): typed documents first (codegen), then `tsc -p packages/client`.
//
//   node scripts/build-client.ts              build now (the package's `npm run build`)
//   node scripts/build-client.ts --if-needed  only when dist is missing or older than its sources (`prepack`, `pretest`)
//
// codegen and tsc are dev tools: without them (`npm ci --omit=dev`) this says so and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../src/paths.ts';
import { newestMtime } from './newest-mtime.ts';

const client = path.join(projectRoot, 'packages', 'client');
const dist = path.join(client, 'dist');
const builtIndex = path.join(dist, 'index.js');
const generated = path.join(client, 'src', 'generated');
const tscBin = path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const codegenBin = path.join(projectRoot, 'node_modules', '@graphql-codegen', 'cli', 'cjs', 'bin.js');

function run(bin: string, args: string[]): number {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: projectRoot, stdio: 'inherit' });
  return result.status ?? 1;
}

/** True when packages/client/dist is missing or older than anything it is built from. */
export function clientIsStale(): boolean {
  if (!existsSync(builtIndex) || !existsSync(generated)) return true;
  const sources = Math.max(
    newestMtime(client, new Set([dist, generated, path.join(client, 'node_modules')])),
    newestMtime(path.join(projectRoot, 'src', 'graphql')),
    newestMtime(path.join(projectRoot, 'codegen.ts')),
    newestMtime(path.join(projectRoot, 'package-lock.json')),
  );
  return sources > statSync(builtIndex).mtimeMs;
}

/** `tsc` of the package into a clean dist; 0 on success, or when TypeScript is absent. */
export function compileClient(): number {
  if (!existsSync(tscBin)) {
    console.log('client: typescript is not installed (production install?): not building packages/client/dist');
    return 0;
  }
  rmSync(dist, { recursive: true, force: true });
  const status = run(tscBin, ['-p', client]);
  if (status === 0) console.log('client: built packages/client/dist (@jobgate/client)');
  return status;
}

/** Codegen (every output), then tsc. */
export function buildClient(): number {
  if (!existsSync(tscBin) || !existsSync(codegenBin)) {
    console.log('client: dev tools (typescript, graphql-codegen) are not installed: not building packages/client/dist');
    return 0;
  }
  const codegen = run(codegenBin, ['--config', 'codegen.ts', '--silent']);
  if (codegen !== 0) return codegen;
  return compileClient();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--if-needed') && !clientIsStale()) process.exit(0);
  process.exitCode = buildClient();
}
