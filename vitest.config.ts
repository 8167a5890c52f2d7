import { defineConfig } from 'vitest/config'

export default defineConfig({
  // trpc-nuxt imports h3's helpers through Nuxt's '#imports'; outside Nuxt they come from h3 itself.
  resolve: { alias: { '#imports': 'h3' } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/infra/**/*.test.ts'],
    // The Cognito emulator and every inference service; a pass that needs none of them sets TEST_STACK=off.
    globalSetup: process.env.TEST_STACK === 'off' ? [] : ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Model runs use every core; running test files one at a time keeps timings sane on 2 cores.
    fileParallelism: false,
    env: { LOG_LEVEL: 'warn' },
    server: { deps: { inline: ['trpc-nuxt'] } },
    coverage: {
      provider: 'v8',
      include: ['server/**', 'inference/**'],
      // Entry files that only call startService() run as child processes in every test.
      exclude: ['inference/service/upscale.ts', 'inference/service/denoise.ts', 'inference/service/remove-text.ts', 'inference/service/enhance.ts', 'server/plugins/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'test-results/coverage',
      thresholds: { lines: 85 },
    },
  },
})
