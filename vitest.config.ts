import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The typed client by its package name, as tsconfig.json's paths maps it.
    alias: { '@mailsync/client': fileURLToPath(new URL('./clients/typescript/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real services start per test file; two cores run two files at a time.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
