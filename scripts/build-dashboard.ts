// Builds the dashboard (dashboard/ → dashboard/dist, served at /dashboard/):
// typed documents first (codegen), then `vite build`.
//
//   node scripts/build-dashboard.ts              build now (`npm run build:dashboard`)
//   node scripts/build-dashboard.ts --if-needed  only when dist is missing or older than its sources (`pretest`, `prestart`)
//
// Vite and codegen are dev tools: without them (`npm ci --omit=dev`) this says so and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../src/paths.ts';
import { newestMtime } from './newest-mtime.ts';

const dashboard = path.join(projectRoot, 'dashboard');
const builtIndex = path.join(dashboard, 'dist', 'index.html');
const generated = path.join(dashboard, 'src', 'generated');
const viteBin = path.join(projectRoot, 'node_modules', 'vite', 'bin', 'vite.js');
const codegenBin = path.join(projectRoot, 'node_modules', '@graphql-codegen', 'cli', 'cjs', 'bin.js');

/** True when dashboard/dist is missing or older than anything it is built from. */
export function dashboardIsStale(): boolean {
  if (!existsSync(builtIndex) || !existsSync(generated)) return true;
  const sources = Math.max(
    newestMtime(dashboard, new Set([path.join(dashboard, 'dist'), generated])),
    newestMtime(path.join(projectRoot, 'src', 'graphql'), new Set()),
    newestMtime(path.join(projectRoot, 'codegen.ts'), new Set()),
    newestMtime(path.join(projectRoot, 'package-lock.json'), new Set()),
  );
  return sources > statSync(builtIndex).mtimeMs;
}

function run(bin: string, args: string[]): number {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: projectRoot, stdio: 'inherit' });
  return result.status ?? 1;
}

/** `vite build` of the dashboard; 0 on success, or when the dev tools are absent. */
export function viteBuild(): number {
  if (!existsSync(viteBin)) {
    console.log('dashboard: vite is not installed (production install?): not building dashboard/dist');
    return 0;
  }
  const status = run(viteBin, ['build', '--config', path.join(dashboard, 'vite.config.ts'), '--configLoader', 'native']);
  if (status === 0) console.log('dashboard: built dashboard/dist (served at /dashboard/)');
  return status;
}

/** Codegen (both outputs), then vite build. */
export function buildDashboard(): number {
  if (!existsSync(viteBin) || !existsSync(codegenBin)) {
    console.log('dashboard: dev tools (vite, graphql-codegen) are not installed: not building dashboard/dist');
    return 0;
  }
  const codegen = run(codegenBin, ['--config', 'codegen.ts', '--silent']);
  if (codegen !== 0) return codegen;
  return viteBuild();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--if-needed') && !dashboardIsStale()) process.exit(0);
  process.exitCode = buildDashboard();
}
