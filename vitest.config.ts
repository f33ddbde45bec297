import { defineConfig } from 'vitest/config';
import { newSeed, parseSeed } from './test/support/seeded-random.js';

// SLUICE_COVERAGE=1 (set by .ci/run and `npm run coverage`) measures V8 coverage of src/ as a
// figure, not a gate: no thresholds, a text summary on stdout and a full report in coverage/.
const coverage = process.env.SLUICE_COVERAGE === '1';

// Reproducible chaos (test/support/seeded-random.ts): one seed per run, printed once, handed to the
// workers and their child processes through the environment; SLUICE_TEST_SEED=<seed> replays it.
const seed = process.env.SLUICE_TEST_SEED || String(newSeed());
parseSeed(seed);
process.env.SLUICE_TEST_SEED = seed;
console.log(`sluice test seed: ${seed} (replay with SLUICE_TEST_SEED=${seed})`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Fault and e2e tests start processes of their own; keep the 2-core machine from thrashing.
    maxWorkers: 2,
    minWorkers: 1,
    coverage: {
      enabled: coverage,
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: 'coverage',
      // A figure even when a test fails (a failing run still says how much it exercised).
      reportOnFailure: true,
    },
  },
});
