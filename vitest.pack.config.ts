import { defineConfig } from 'vitest/config';

// `npm run test:pack`: the package as a user installs it. Apart from `npm test` because installing
// compiles two native addons (minutes), and `lars up` takes the default DNS and Report ports.
export default defineConfig({
  test: {
    include: ['test/pack/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
