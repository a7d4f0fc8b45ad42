import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/pack runs on its own: npm run test:pack (vitest.pack.config.ts).
    exclude: [...configDefaults.exclude, 'test/pack/**'],
    // Integration suites start real daemons and MariaDB databases; keep the 2-core machine responsive.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
