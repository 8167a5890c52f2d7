import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/infra/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Model runs use every core; running test files one at a time keeps timings sane on 2 cores.
    fileParallelism: false,
    env: { LOG_LEVEL: 'warn' },
  },
})
