import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // each test file gets its own temporary history store (never the real home directory)
    setupFiles: ['test/setup/history-store.ts'],
    // Network tests share two cores: run files one at a time so transfers do not contend.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
