import { defineConfig } from 'vitest/config';

/**
 * The cluster suite: tests against the three-node swarm `scripts/cluster.sh up` starts. Run it
 * with `npm run test:cluster` (starts the cluster, runs these, removes it); the default suite
 * never includes it. One file at a time: the files share one cluster and kill its nodes.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    maxWorkers: 1,
    fileParallelism: false,
    pool: 'forks',
  },
});
