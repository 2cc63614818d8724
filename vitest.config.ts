import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The saturation test loads every core on purpose (a busy loop per core for a whole deploy): it
 * runs after every other file, alone, so it neither starves nor is starved by them.
 */
const SATURATION = ['test/integration/saturation.test.ts'];

/** What both projects share. globalSetup stays at the root so it runs once, not per project. */
const common = {
  testTimeout: 60_000,
  hookTimeout: 180_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        test: {
          ...common,
          name: 'suite',
          include: ['test/**/*.test.ts', 'server/test/**/*.test.ts'],
          // The cluster suite needs the three-node swarm: npm run test:cluster (vitest.cluster.config.ts).
          exclude: [...configDefaults.exclude, 'test/cluster/**', ...SATURATION],
          // Integration tests share one Docker Engine and a 2-core machine: two files at a time (with
          // three, the containers and probes of three engine-heavy files kept the load average above 30).
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...common,
          name: 'saturation',
          include: SATURATION,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
