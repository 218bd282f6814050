import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard, served by the gateway at /dashboard/ (src/server/dashboard.ts
// serves dashboard/dist). `npm run build:dashboard` builds it; for work on it,
// `npx vite --config dashboard/vite.config.ts` serves it with /graphql proxied
// to a gateway on :4000.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // recharts (and its d3 parts) is most of the bundle: keep it in a chunk of its own.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [{ name: 'charts', test: /node_modules[\\/](recharts|victory-vendor|d3-|@reduxjs|immer|react-redux|reselect|es-toolkit|decimal\.js-light)/ }],
        },
      },
    },
  },
  server: {
    proxy: { '/graphql': { target: 'http://localhost:4000', ws: true } },
  },
  clearScreen: false,
  logLevel: 'warn',
});
