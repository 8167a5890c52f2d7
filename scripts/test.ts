// The one command that runs every test (README): type-check, unit + integration (vitest),
// production build, end-to-end in Debian's Chromium (Playwright). Exits non-zero if anything fails.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'

const REPORTS = 'test-results/reports'
rmSync(REPORTS, { recursive: true, force: true })
mkdirSync(REPORTS, { recursive: true })

function step(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): boolean {
  console.log(`\n=== ${title}: ${command} ${args.join(' ')}`)
  const started = Date.now()
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  console.log(`=== ${title}: ${result.status === 0 ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return result.status === 0
}

function ensureChromium() {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  // Fonts draw the text-removal test set (sharp renders SVG text through fontconfig).
  if (existsSync(path) && existsSync('/usr/share/fonts/truetype/dejavu')) return
  // Debian's Chromium, never a downloaded browser build (README, "Testing").
  if (process.getuid?.() === 0) step('install chromium', 'bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core'])
  if (!existsSync(path)) throw new Error(`Chromium not found at ${path}: install Debian's chromium package (apt-get install -y chromium).`)
}

const node = process.execPath
const bin = (name: string, script: string) => [node, [`node_modules/${name}/${script}`]] as const
const results: { name: string; ok: boolean }[] = []
const run = (name: string, [command, args]: readonly [string, readonly string[]], extra: string[] = [], env?: NodeJS.ProcessEnv) =>
  results.push({ name, ok: step(name, command, [...args, ...extra], env) })

ensureChromium()
// SST's platform (.sst/platform) must exist before sst.config.ts can be type-checked or evaluated.
run('sst install', [node, ['--import', 'tsx', 'scripts/sst-install.ts']])
run('typecheck', bin('nuxt', 'bin/nuxt.mjs'), ['typecheck'])
run('typecheck sst.config.ts', [node, ['.sst/platform/node_modules/typescript/bin/tsc', '-p', 'tsconfig.sst.json']])
// V8's coverage counters slow TF.js's JavaScript kernels about tenfold (esrgan-thick x2 on 32x32:
// 18 s plain, 187 s with coverage), so the tests that run UpscalerJS's TF.js go in a second pass.
const TFJS_PARITY = 'tests/unit/convert-parity.test.ts'
run('unit + integration (with coverage)', bin('vitest', 'vitest.mjs'), ['run', '--coverage', `--exclude=${TFJS_PARITY}`, '--reporter=default', '--reporter=json', `--outputFile=${REPORTS}/vitest.json`])
run('parity with TF.js (no coverage)', bin('vitest', 'vitest.mjs'), ['run', TFJS_PARITY, '--reporter=default', '--reporter=json', `--outputFile=${REPORTS}/vitest-tfjs.json`], { TEST_STACK: 'off' })
run('build', bin('nuxt', 'bin/nuxt.mjs'), ['build'])
rmSync('.data-e2e', { recursive: true, force: true })
run('end to end', bin('@playwright/test', 'cli.js'), ['test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: `${REPORTS}/playwright.json` })

// One closing line for the whole run, counted from the runners' own JSON reports.
let passed = 0
let failed = 0
let skipped = 0
for (const report of ['vitest.json', 'vitest-tfjs.json'])
  try {
    const vitest = JSON.parse(readFileSync(`${REPORTS}/${report}`, 'utf8'))
    passed += vitest.numPassedTests
    failed += vitest.numFailedTests
    skipped += vitest.numPendingTests + vitest.numTodoTests
  } catch {}
try {
  const { stats } = JSON.parse(readFileSync(`${REPORTS}/playwright.json`, 'utf8'))
  passed += stats.expected + stats.flaky
  failed += stats.unexpected
  skipped += stats.skipped
} catch {}
for (const r of results) if (!r.ok) failed += passed === 0 && failed === 0 ? 1 : 0
const failedSteps = results.filter((r) => !r.ok).map((r) => r.name)
console.log(`\n${failedSteps.length ? `failed steps: ${failedSteps.join(', ')}` : 'all steps ok'}`)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failedSteps.length || failed ? 1 : 0)
