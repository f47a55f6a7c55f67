import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/*
 * The web console, built by `npm run build` into dist/console and served by the API at /console/
 * (server/routes/console.ts). No React plugin: Vite's own transformer (Oxc) compiles TSX with the
 * automatic JSX runtime; there is no dev-server fast refresh, which the build does not need.
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // mermaid alone is ~3 MB minified and loaded only on a journey's diagram: its own chunks.
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
    // antd's and React's `"use client"` markers mean nothing in a client-only bundle.
    rolldownOptions: { checks: { moduleLevelDirective: false } },
  },
  server: {
    // `npx vite console` during development: the API on its default port answers /v1.
    proxy: { '/v1': 'http://localhost:3000', '/healthz': 'http://localhost:3000' },
  },
});
