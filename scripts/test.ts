// The one command that runs every test (README): type-check, lint, the vitest projects (vitest.config.ts:
// unit, infra, quality, tfjs, quality-js, integration), production build, end to end in Debian's Chromium
// (Playwright). Exits non-zero if anything fails.
//
// The CPU is what bounds it on 2 cores, so the steps run in four lanes at once: type-checks, build
// and end to end; the plumbing and integration tests; the model-quality tests, niced so that they
// only take CPU the others leave idle (those wait on services and browsers much of the time); and
// the TF.js parity, not niced (single-threaded TF.js starved behind the other lanes: esrgan-thick
// x4 on 32x32 took over 180 s, 18 s alone). Each step's output is printed whole when it ends, and kept in
// test-results/logs/; the closing table gives each step's start, duration and CPU time.
import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { postgresBin } from './lib/postgres'

const REPORTS = 'test-results/reports'
const BLOBS = `${REPORTS}/blobs`
const LOGS = 'test-results/logs'
for (const dir of [REPORTS, LOGS, 'test-results/coverage']) rmSync(dir, { recursive: true, force: true })
mkdirSync(BLOBS, { recursive: true })
mkdirSync(LOGS, { recursive: true })

const T0 = Date.now()
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const logOf = (name: string) => `${LOGS}/${name.replace(/[^\w.-]+/g, '-')}`
const results: { name: string; ok: boolean; start: number; ms: number; cpu: string }[] = []

/** Runs one step with its output in test-results/logs/<name>.log, printed whole when the step ends. */
function step(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; nice?: boolean } = {}): Promise<boolean> {
  const start = Date.now() - T0
  const file = logOf(name)
  const argv = options.nice ? ['nice', '-n', '19', command, ...args] : [command, ...args]
  console.log(`=== ${name}: started at +${seconds(start)}: ${argv.join(' ')}`)
  const log = createWriteStream(`${file}.log`)
  // bash's `times` gives the CPU time of the step and everything it started (services, workers, browsers).
  const child = spawn('bash', ['-c', '"$@"; status=$?; times > "$STEP_TIMES"; exit $status', 'bash', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', ...options.env, STEP_TIMES: `${file}.times` },
  })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      log.end(() => {
        const ms = Date.now() - T0 - start
        const ok = code === 0
        results.push({ name, ok, start, ms, cpu: cpuTime(`${file}.times`) })
        process.stdout.write(`\n=== ${name} (output) ===\n${readFileSync(`${file}.log`, 'utf8')}`)
        console.log(`=== ${name}: ${ok ? 'ok' : `FAILED (exit ${code ?? signal})`} in ${seconds(ms)}\n`)
        resolve(ok)
      })
    })
  })
}

/** User + system CPU of a step's children, from the second line of bash's `times` ("1m2.5s 0m3.1s"). */
function cpuTime(file: string): string {
  try {
    const line = readFileSync(file, 'utf8').split('\n')[1] ?? ''
    const total = [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, m, s]) => sum + Number(m) * 60 + Number(s), 0)
    return `${total.toFixed(0)} s`
  } catch {
    return '?'
  }
}

/** Steps one after another; a lane goes on after a failure so that every test still runs. */
async function lane(...steps: (() => Promise<boolean>)[]) {
  for (const run of steps) await run()
}

/** Mesa's Vulkan on the CPU (lavapipe) and the Vulkan loader: Upscayl's engine runs on them (tests/quality/realesrgan-parity.test.ts). */
const vulkanOnCpu = () =>
  spawnSync('bash', ['-c', 'ls /usr/share/vulkan/icd.d/lvp_icd.*.json /usr/lib/*-linux-gnu/libvulkan.so.1'], { stdio: 'ignore' }).status === 0

function ensureSystemPackages() {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  // Fonts draw the text-removal test set (sharp renders SVG text through fontconfig); PostgreSQL
  // runs the job database's SQL on a real server (the tests start their own, on a free port).
  if (existsSync(path) && existsSync('/usr/share/fonts/truetype/dejavu') && postgresBin() && vulkanOnCpu()) return
  // Debian's packages, never a downloaded browser build (README, "Testing").
  const install =
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core postgresql mesa-vulkan-drivers libvulkan1'
  if (process.getuid?.() === 0) spawnSync('bash', ['-c', install], { stdio: 'inherit' })
  if (!existsSync(path)) throw new Error(`Chromium not found at ${path}: install Debian's chromium package (apt-get install -y chromium).`)
  if (!postgresBin()) throw new Error("PostgreSQL not found: install Debian's postgresql package (apt-get install -y postgresql).")
  if (!vulkanOnCpu())
    throw new Error("Vulkan on the CPU not found: install Debian's mesa-vulkan-drivers and libvulkan1 (apt-get install -y mesa-vulkan-drivers libvulkan1).")
}

const node = process.execPath
const VITEST = 'node_modules/vitest/vitest.mjs'
const vitest =
  (name: string, args: string[], nice = false) =>
  () =>
    step(name, node, [VITEST, 'run', ...args], { nice })
// Each vitest run with coverage leaves a blob (its tests and its coverage); the merge at the end adds
// them up and checks the 85% threshold on the whole, so no single run's share is checked alone.
const withCoverage = (blob: string) => [
  '--coverage',
  '--coverage.thresholds.lines=0',
  `--coverage.reportsDirectory=test-results/coverage/${blob}`,
  '--coverage.reporter=json-summary',
  '--reporter=default',
  '--reporter=blob',
  `--outputFile.blob=${BLOBS}/${blob}.json`,
]

ensureSystemPackages()
// Every step shares the 2 cores: ORT's spinning threads would take CPU from the others (sessions.ts).
process.env.ORT_INTRA_OP_SPINNING ??= '0'
rmSync('.data-e2e', { recursive: true, force: true })
await Promise.all([
  lane(
    // Nuxt's typecheck and build both write .nuxt/, so they run one after the other.
    () => step('typecheck', node, ['node_modules/nuxt/bin/nuxt.mjs', 'typecheck']),
    // Lint and format (biome.json), read-only: `npm run format` fixes what it can.
    () => step('lint and format', node, ['node_modules/@biomejs/biome/bin/biome', 'ci', '.']),
    () => step('build', node, ['node_modules/nuxt/bin/nuxt.mjs', 'build']),
    () =>
      step('end to end', node, ['node_modules/@playwright/test/cli.js', 'test', '--reporter=list,json'], {
        env: { PLAYWRIGHT_JSON_OUTPUT_NAME: `${REPORTS}/playwright.json` },
      }),
  ),
  lane(
    // SST's platform (.sst/platform) must exist before sst.config.ts can be type-checked or evaluated (tests/infra).
    () => step('sst install', node, ['--import', 'tsx', 'scripts/sst-install.ts']),
    () => step('typecheck sst.config.ts', node, ['.sst/platform/node_modules/typescript/bin/tsc', '-p', 'tsconfig.sst.json']),
    vitest('unit + infra', ['--project=unit', '--project=infra', '--maxWorkers=2', ...withCoverage('unit-infra')]),
    // The only project that starts PostgreSQL, the Cognito emulator and the inference services.
    vitest('integration', ['--project=integration', ...withCoverage('integration')]),
  ),
  lane(vitest('quality', ['--project=quality', '--fileParallelism', '--maxWorkers=2', ...withCoverage('quality')], true)),
  // V8's coverage counters slow TF.js's JavaScript kernels about tenfold (esrgan-thick x2 on 32x32:
  // 18 s plain, 187 s with coverage), so the tests that run UpscalerJS's TF.js run without it.
  lane(
    vitest('parity with TF.js (no coverage)', ['--project=tfjs', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORTS}/vitest-tfjs.json`]),
    // Text removal's and Real-ESRGAN's quality gates and MAXIM's conversion parity (JavaScript, slowed by coverage like TF.js),
    // and the parity with Upscayl's engine.
    vitest('text removal, Real-ESRGAN and MAXIM conversion quality (no coverage)', [
      '--project=quality-js',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${REPORTS}/vitest-quality-js.json`,
    ]),
  ),
])
// The runs with coverage as one report: their tests' counts, and the coverage threshold on the sum.
await step('coverage (unit, infra, integration, quality)', node, [
  VITEST,
  'run',
  `--merge-reports=${BLOBS}`,
  '--coverage',
  '--reporter=json',
  `--outputFile.json=${REPORTS}/vitest.json`,
])

// One closing line for the whole run, counted from the runners' own JSON reports.
let passed = 0
let failed = 0
let skipped = 0
// What did not pass, by name, so that the closing lines alone (all a CI summary may keep) say what failed and why.
const notPassed: string[] = []
type VitestFile = { name: string; status: string; message?: string; assertionResults: { fullName: string; status: string; failureMessages?: string[] }[] }
const firstLine = (text = '') =>
  text
    .split('\n')
    .find((line) => line.trim())
    ?.slice(0, 300) ?? ''
for (const report of ['vitest.json', 'vitest-tfjs.json', 'vitest-quality-js.json'])
  try {
    const vitest = JSON.parse(readFileSync(`${REPORTS}/${report}`, 'utf8'))
    passed += vitest.numPassedTests
    failed += vitest.numFailedTests
    skipped += vitest.numPendingTests + vitest.numTodoTests
    if (!vitest.success && !vitest.numFailedTests && !vitest.testResults.some((file: VitestFile) => file.status === 'failed'))
      notPassed.push(`${report}: the run failed outside any test (an unhandled error: its step's log says which)`)
    for (const file of vitest.testResults as VitestFile[]) {
      const where = file.name.replace(`${process.cwd()}/`, '')
      // A file fails without a failed test when a hook or the file itself throws (its tests are then skipped).
      if (file.status === 'failed' && file.message) notPassed.push(`${where}: ${firstLine(file.message)}`)
      for (const test of file.assertionResults)
        if (test.status !== 'passed') notPassed.push(`${where} > ${test.fullName}: ${test.status} ${firstLine(test.failureMessages?.[0])}`.trimEnd())
    }
  } catch {}
try {
  const { stats } = JSON.parse(readFileSync(`${REPORTS}/playwright.json`, 'utf8'))
  passed += stats.expected + stats.flaky
  failed += stats.unexpected
  skipped += stats.skipped
} catch {}
console.log('\nsteps:            start   duration   CPU')
for (const r of results.sort((a, b) => a.start - b.start))
  console.log(`  ${r.ok ? 'ok    ' : 'FAILED'} ${`+${seconds(r.start)}`.padStart(10)} ${seconds(r.ms).padStart(10)} ${r.cpu.padStart(7)}  ${r.name}`)
const failedSteps = results.filter((r) => !r.ok).map((r) => r.name)
// The lines of a failed step's log that name the failure (its whole log was printed when it ended, far above).
for (const r of results.filter((r) => !r.ok)) {
  const lines = readFileSync(`${logOf(r.name)}.log`, 'utf8').split('\n')
  const telling = lines.filter((line) => /FAIL|Error|failed|timed out|Unhandled/.test(line)).slice(0, 25)
  console.log(`\n${r.name}, from its log:\n${(telling.length ? telling : lines.slice(-25)).map((line) => `  ${line.slice(0, 300)}`).join('\n')}`)
}
console.log(`\n${failedSteps.length ? `failed steps: ${failedSteps.join(', ')}` : 'all steps ok'} in ${seconds(Date.now() - T0)}`)
if (notPassed.length) console.log(`\nnot passed:\n${notPassed.map((line) => `  ${line}`).join('\n')}`)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failedSteps.length || failed ? 1 : 0)
