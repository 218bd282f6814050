#!/usr/bin/env node
// npm puts node_modules/.bin first on PATH, so `npx jobgate` runs on the pinned Node.
await import('../src/cli/main.ts');
