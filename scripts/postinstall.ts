// Runs after `npm install`/`npm ci`: generates the Prisma client and the typed
// GraphQL documents (both git-ignored), then builds the dashboard (dashboard/dist)
// and the client package (packages/client/dist).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runPrismaCli } from '../src/db/migrate.ts';
import { projectRoot } from '../src/paths.ts';
import { compileClient } from './build-client.ts';
import { viteBuild } from './build-dashboard.ts';

// generate reads no database, but Prisma insists the variable is set.
const url = process.env.DATABASE_URL ?? 'postgresql://localhost:5432/unused';
const prismaCode = await runPrismaCli(['generate'], url);
if (prismaCode !== 0) process.exit(prismaCode);

// Codegen, Vite and tsc are dev tools: absent from production installs (`npm ci --omit=dev`).
const codegen = `${projectRoot}node_modules/@graphql-codegen/cli/cjs/bin.js`;
if (existsSync(codegen)) {
  const result = spawnSync(process.execPath, [codegen, '--config', 'codegen.ts', '--silent'], { cwd: projectRoot, stdio: 'inherit' });
  process.exitCode = result.status ?? 1;
  // The dashboard's and the client's typed documents come from that codegen run: build them only after.
  if (process.exitCode === 0) process.exitCode = viteBuild();
  if (process.exitCode === 0) process.exitCode = compileClient();
}
