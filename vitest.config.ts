import { defineConfig } from 'vitest/config';

// Two projects: fast unit/integration tests run in parallel; lab tests (root, namespaces, real
// daemons on shared bridge names) run one file at a time.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'lab/**/*.test.ts'],
          exclude: ['**/*.lab.test.ts', 'node_modules/**'],
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
    ],
  },
});
