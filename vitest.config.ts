import { defineConfig } from 'vitest/config'

/**
 * One project per kind of test (README, "Tests"). Only `integration` starts the stack (PostgreSQL,
 * the Cognito emulator, the inference services); the others need none of it, and only `quality`
 * `tfjs` and `quality-js` run real weights. `npm test` (scripts/test.ts) runs them in a schedule of its own.
 */
const TFJS = ['tests/quality/convert-parity.test.ts']
const UNCOVERED_QUALITY = [
  'tests/quality/text-removal.test.ts',
  'tests/quality/realesrgan-quality.test.ts',
  'tests/quality/realesrgan-parity.test.ts',
  'tests/quality/convert-graph-parity.test.ts',
  // The quantizer's calibration and weight loops are JavaScript too (its plumbing has coverage in tests/unit/quantize.test.ts).
  'tests/quality/int8-quality.test.ts',
]
/**
 * The model files' hooks load and convert real weights, and in npm test they run niced behind the other lanes, so
 * they get the tests' own time-out: a 300 s beforeAll loading five MAXIM models timed out on a loaded CI host.
 */
const MODEL_HOOKS = { hookTimeout: 900_000 }

export default defineConfig({
  // trpc-nuxt imports h3's helpers through Nuxt's '#imports'; outside Nuxt they come from h3 itself.
  resolve: { alias: { '#imports': 'h3' } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { LOG_LEVEL: 'warn' },
    server: { deps: { inline: ['trpc-nuxt'] } },
    projects: [
      // Pure logic and plumbing (generated models, fake sessions): seconds, so files run side by side.
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'infra', include: ['tests/infra/**/*.test.ts'] } },
      // Real models, which use every core: one file at a time, except in npm test, which runs two at once (niced) so
      // that the cores one file leaves idle (its JavaScript, the gaps between ORT's small ops) go to the other.
      {
        extends: true,
        test: { name: 'quality', ...MODEL_HOOKS, include: ['tests/quality/**/*.test.ts'], exclude: [...TFJS, ...UNCOVERED_QUALITY], fileParallelism: false },
      },
      // Quality tests whose work is JavaScript (UpscalerJS's TF.js kernels; text removal's masks, PatchMatch and judge; the
      // upscale measures; MAXIM's graph conversions), which V8's coverage slows about tenfold (text removal: 38 s plain, 837 s
      // with coverage on a loaded CI host; the MAXIM conversion parity: 29 s plain, 62 s with), and the parity with Upscayl's
      // engine, whose time is the engine's: run without coverage. The converter stays covered by denoise-whole's live
      // conversion at 512 px and by the unit tests.
      { extends: true, test: { name: 'tfjs', ...MODEL_HOOKS, include: TFJS } },
      { extends: true, test: { name: 'quality-js', ...MODEL_HOOKS, include: UNCOVERED_QUALITY, fileParallelism: false } },
      {
        extends: true,
        test: { name: 'integration', include: ['tests/integration/**/*.test.ts'], globalSetup: ['tests/helpers/global-setup.ts'], fileParallelism: false },
      },
    ],
    coverage: {
      provider: 'v8',
      // TypeScript only: the SQL migrations and drizzle's JSON snapshots are not code.
      include: ['server/**/*.ts', 'inference/**/*.ts'],
      // The service entry only starts a service; it runs as a child process, outside the coverage.
      exclude: ['inference/service/main.ts', 'server/plugins/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'test-results/coverage',
      thresholds: { lines: 85 },
    },
  },
})
