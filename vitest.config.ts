import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Cluster and Git suites start real servers; two workers fit two cores.
    maxWorkers: 2,
    // The persistent cache of every run under test goes to a temporary folder, never the user's cache folder.
    env: { JOCH_CACHE_DIR: path.join(tmpdir(), `joch-test-cache-${process.pid}`) },
  },
});
