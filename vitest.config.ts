import { defineConfig } from 'vitest/config';

// Fast unit/integration tests run in parallel; lab tests (root, namespaces, real daemons on shared
// bridge names) run one file at a time. `e2e` holds lab runs too long for CI's 30 minutes (several
// full creates each): `npm run e2e`, not part of `npm test`.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'lab/**/*.test.ts'],
          exclude: ['**/*.lab.test.ts', '**/*.e2e.test.ts', 'node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['**/*.lab.test.ts'],
          exclude: ['node_modules/**'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude: ['node_modules/**'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
