import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'server/test/**/*.test.ts'],
    // The cluster suite needs the three-node swarm: npm run test:cluster (vitest.cluster.config.ts).
    exclude: [...configDefaults.exclude, 'test/cluster/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests share one Docker Engine and a 2-core machine: two files at a time (with
    // three, the containers and probes of three engine-heavy files kept the load average above 30).
    maxWorkers: 2,
    pool: 'forks',
  },
});
