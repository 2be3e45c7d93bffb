import { defineConfig } from 'vitest/config';

export default defineConfig({
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
