import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Fault and e2e tests start processes of their own; keep the 2-core machine from thrashing.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
