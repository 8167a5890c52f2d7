/**
 * Speed of the upscale models: onnxruntime-node (our converted ONNX) vs UpscalerJS's own runtime
 * path in Node (TF.js cpu and wasm backends), same weights, same image; and ORT's effective
 * GFLOP/s as a fraction of its peak on a plain 3x3 convolution, measured in the same run.
 *
 *   npx tsx bench/upscale-speed.ts            writes bench/results/upscale-speed.{md,json}
 *
 * The machine is shared, so every ORT figure is the best of several runs (contention only ever
 * adds time), and the conv peak is re-measured next to each model so a fraction compares
 * neighbours in time. The spread (median / best) is reported as the noise figure.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import * as ort from 'onnxruntime-node'
import { ensureConverted } from '../inference/convert/cache'
import type { ConvertSource } from '../inference/models/adapter'
import { OnnxGraphBuilder } from '../inference/convert/onnx-graph'
import { esrganAdapters } from '../inference/models/esrgan'
import { runTiled } from '../inference/runtime/tiling'
import { loadRgb } from '../tests/helpers/images'
import { countConvFlops } from './lib/flops'
import { loadUpscalerModel } from '../tests/helpers/tfjs-models'

const THREADS = availableParallelism()
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: THREADS,
  ort: ort.env.versions?.common,
  loadavgAtStart: loadavg(),
}
const md: string[] = []
const log = (line = '') => {
  console.log(line)
  md.push(line)
}

type Level = 'disabled' | 'basic' | 'extended' | 'all'
interface Tuning {
  threads: number
  level: Level
  spinning: boolean
}
const DEFAULT_TUNING: Tuning = { threads: THREADS, level: 'all', spinning: true }

function createSession(model: string | Uint8Array, t: Tuning) {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: t.level,
    intraOpNumThreads: t.threads,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: t.spinning ? '1' : '0' } } },
  }
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options)
}

/** Best and median seconds of `runs` timed runs after `warmup` untimed ones. */
async function timeSession(session: ort.InferenceSession, dims: number[], runs: number, warmup = 2) {
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => (i * 37) % 255),
    dims,
  )
  const feeds = { [session.inputNames[0]!]: input }
  for (let i = 0; i < warmup; i++) await session.run(feeds)
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await session.run(feeds)
    times.push((performance.now() - started) / 1000)
  }
  times.sort((a, b) => a - b)
  return { best: times[0]!, median: times[Math.floor(times.length / 2)]! }
}

// --- The reference: ORT on a plain Conv 64->64 3x3 over 1x64x128x128 ---------------------------
const convFlops = 2 * 64 * 64 * 9 * 128 * 128 + 64 * 128 * 128
const convModel = (() => {
  const g = new OnnxGraphBuilder()
  const weights = Float32Array.from({ length: 64 * 64 * 9 }, (_, i) => Math.sin(i) * 0.05)
  const w = g.addInitializer('w', [64, 64, 3, 3], weights)
  const b = g.addInitializer('b', [64], new Float32Array(64))
  g.uniqueName('x')
  const y = g.addNode('Conv', ['x', w, b], 'y', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
  return g.build({ graphName: 'conv-peak', opset: 17, inputs: [{ name: 'x', dims: [1, 64, 128, 128] }], outputs: [{ name: y, dims: [1, 64, 128, 128] }] })
})()
const convSessions = new Map<string, ort.InferenceSession>()
async function convPeak(t: Tuning = DEFAULT_TUNING) {
  const key = JSON.stringify(t)
  if (!convSessions.has(key)) convSessions.set(key, await createSession(convModel, t))
  const { best, median } = await timeSession(convSessions.get(key)!, [1, 64, 128, 128], 10, 3)
  return { gflops: convFlops / best / 1e9, noise: median / best }
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`
const f1 = (x: number) => x.toFixed(1)
const modelPath = async (id: string, scale: number) => {
  const adapter = esrganAdapters.find((a) => a.info.id === id)!
  return (await ensureConverted(adapter.sources.find((s) => s.kind === 'convert' && s.file === `${id}-x${scale}.onnx`) as ConvertSource)).path
}

// --- 1. Conv peak -----------------------------------------------------------------------------
log(`# Upscale speed (bench/upscale-speed.ts)`)
log()
log(
  `${results.cpu}, ${THREADS} cores (shared with other work: load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} at start), onnxruntime-node ${results.ort}, @tensorflow/tfjs ${tf.version.tfjs}.`,
)
log()
const peak1 = await convPeak({ ...DEFAULT_TUNING, threads: 1 })
const peak = await convPeak()
results.convPeak = { threads1: peak1, threadsAll: peak }
log(`## ORT peak: Conv 64->64 3x3 over 1x64x128x128 (${f1(convFlops / 1e9)} GFLOP)`)
log()
log(`| intra-op threads | GFLOP/s (best of 10) | median/best |`)
log(`|---|---|---|`)
log(`| 1 | ${f1(peak1.gflops)} | ${peak1.noise.toFixed(2)} |`)
log(`| ${THREADS} | ${f1(peak.gflops)} | ${peak.noise.toFixed(2)} |`)
log()

// --- 2. ORT vs UpscalerJS's runtime (TF.js) on the same 64x64 crop ------------------------------
const SIDE = 64
const crop = await loadRgb('chelsea.png', { left: 180, top: 60, width: SIDE, height: SIDE })
let wasmAvailable = false
try {
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  wasm.setWasmPaths(join(process.cwd(), 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'))
  wasmAvailable = await tf.setBackend('wasm')
} catch (error) {
  log(`(tfjs-backend-wasm did not load: ${(error as Error).message})`)
}

async function tfjsSeconds(backend: string, npmPackage: string, scale: number, valueRange: number, runs: number) {
  await tf.setBackend(backend)
  await tf.ready()
  const model = await loadUpscalerModel(tf, npmPackage, scale)
  const input = tf.tensor4d(
    Float32Array.from(crop.data, (v) => (v * valueRange) / 255),
    [1, SIDE, SIDE, 3],
  )
  tf.tidy(() => (model.predict(tf.zeros([1, 16, 16, 3])) as tf.Tensor).dataSync()) // kernels and weights warm
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync())
    best = Math.min(best, (performance.now() - started) / 1000)
  }
  input.dispose()
  model.dispose()
  return best
}

const speedRows: string[] = []
const speed: unknown[] = []
for (const adapter of esrganAdapters) {
  const { id, npmPackage, valueRange } = adapter.variant
  for (const scale of [2, 4]) {
    const path = await modelPath(id, scale)
    const flops = await countConvFlops(path, SIDE, SIDE)
    const session = await createSession(path, DEFAULT_TUNING)
    const before = await convPeak()
    const ortTime = await timeSession(session, [1, 3, SIDE, SIDE], id === 'esrgan-thick' ? 5 : 10)
    const after = await convPeak()
    await session.release()
    const runs = id === 'esrgan-thick' ? 1 : 2
    const cpu = await tfjsSeconds('cpu', npmPackage, scale, valueRange, runs)
    const wasm = wasmAvailable ? await tfjsSeconds('wasm', npmPackage, scale, valueRange, runs) : NaN
    const peakHere = (before.gflops + after.gflops) / 2
    const gflops = flops / ortTime.best / 1e9
    speed.push({ id, scale, flops, ort: ortTime, tfjsCpu: cpu, tfjsWasm: wasm, peakHere, gflops })
    speedRows.push(
      `| ${id} x${scale} | ${f1(flops / 1e9)} | ${f1(cpu)} s | ${wasmAvailable ? `${f1(wasm)} s` : 'n/a'} | ${(ortTime.best * 1000).toFixed(0)} ms (${ortTime.median / ortTime.best < 1.1 ? '' : '!'}${(ortTime.median / ortTime.best).toFixed(2)}) | **${(cpu / ortTime.best).toFixed(0)}x** | ${wasmAvailable ? `**${(wasm / ortTime.best).toFixed(0)}x**` : 'n/a'} | ${f1(gflops)} | ${pct(gflops / peakHere)} |`,
    )
    console.log(speedRows.at(-1))
  }
}
results.speed = speed
log(`## ORT vs UpscalerJS's runtime, ${SIDE}x${SIDE} crop of chelsea.png, one untiled run`)
log()
log(
  `TF.js: best of ${2} runs (1 for thick) after a warm-up; ORT: best of 10 (5 for thick) with ${THREADS} intra-op threads, median/best in brackets; the fraction is of the conv peak measured just before and after that model.`,
)
log()
log(`| model | GFLOP | TF.js cpu | TF.js wasm | ORT | vs cpu | vs wasm | ORT GFLOP/s | of peak |`)
log(`|---|---|---|---|---|---|---|---|---|`)
for (const row of speedRows) log(row)
log()

// --- 3. Tuning: tile (window) size, threads, optimisation level, spinning -----------------------
const WINDOWS = [64, 96, 128, 160, 192, 256]
const tuneRows: string[] = []
const tuning: unknown[] = []
for (const id of ['esrgan-slim', 'esrgan-medium', 'esrgan-thick']) {
  const path = await modelPath(id, 4)
  const session = await createSession(path, DEFAULT_TUNING)
  const peakHere = await convPeak()
  const cells: string[] = []
  for (const side of WINDOWS) {
    const flops = await countConvFlops(path, side, side)
    const time = await timeSession(session, [1, 3, side, side], id === 'esrgan-thick' ? 3 : 5, 1)
    const gflops = flops / time.best / 1e9
    tuning.push({ id, side, gflops, peak: peakHere.gflops })
    cells.push(`${f1(gflops)} (${pct(gflops / peakHere.gflops)})`)
  }
  await session.release()
  tuneRows.push(`| ${id} x4 | ${cells.join(' | ')} |`)
  console.log(tuneRows.at(-1))
}
results.tileSizes = tuning
log(`## Effective GFLOP/s (fraction of peak) by tile window, x4, ${THREADS} threads`)
log()
log(`| model | ${WINDOWS.map((s) => `${s}²`).join(' | ')} |`)
log(`|---|${WINDOWS.map(() => '---').join('|')}|`)
for (const row of tuneRows) log(row)
log()

const OPTIONS_WINDOW = 160
const variantsOfOptions: [string, Tuning][] = [
  ['1 thread', { ...DEFAULT_TUNING, threads: 1 }],
  [`${THREADS} threads, level all (chosen)`, DEFAULT_TUNING],
  [`${THREADS} threads, level extended (no NCHWc layout)`, { ...DEFAULT_TUNING, level: 'extended' }],
  [`${THREADS} threads, level basic`, { ...DEFAULT_TUNING, level: 'basic' }],
  [`${THREADS} threads, no spinning`, { ...DEFAULT_TUNING, spinning: false }],
]
log(`## Session options, esrgan-medium x4 on a ${OPTIONS_WINDOW}² tile (the service's 128 px core + 2 x 16 px margin)`)
log()
log(`| session options | tiles/s | GFLOP/s | of peak (${THREADS} threads) |`)
log(`|---|---|---|---|`)
const mediumPath = await modelPath('esrgan-medium', 4)
const tileFlops = await countConvFlops(mediumPath, OPTIONS_WINDOW, OPTIONS_WINDOW)
const optionResults: unknown[] = []
for (const [label, t] of variantsOfOptions) {
  const session = await createSession(mediumPath, t)
  const peakHere = await convPeak()
  const time = await timeSession(session, [1, 3, OPTIONS_WINDOW, OPTIONS_WINDOW], 5, 1)
  await session.release()
  optionResults.push({ label, t, time, peak: peakHere.gflops })
  log(`| ${label} | ${(1 / time.best).toFixed(2)} | ${f1(tileFlops / time.best / 1e9)} | ${pct(tileFlops / time.best / 1e9 / peakHere.gflops)} |`)
}
// Concurrency: one session per core, each single-threaded, running at once (what MAX_CONCURRENT_RUNS=THREADS would do).
{
  const sessions = await Promise.all(Array.from({ length: THREADS }, () => createSession(mediumPath, { ...DEFAULT_TUNING, threads: 1 })))
  const input = new ort.Tensor('float32', new Float32Array(3 * OPTIONS_WINDOW * OPTIONS_WINDOW).fill(100), [1, 3, OPTIONS_WINDOW, OPTIONS_WINDOW])
  await Promise.all(sessions.map((s) => s.run({ input })))
  let best = Infinity
  for (let round = 0; round < 3; round++) {
    const started = performance.now()
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < 2; i++) await s.run({ input })
      }),
    )
    best = Math.min(best, (performance.now() - started) / 1000)
  }
  const tilesPerSecond = (2 * THREADS) / best
  optionResults.push({ label: 'concurrent', tilesPerSecond })
  log(`| ${THREADS} concurrent sessions x 1 thread (total) | ${tilesPerSecond.toFixed(2)} | ${f1((tileFlops * tilesPerSecond) / 1e9)} | |`)
  for (const s of sessions) await s.release()
}
results.sessionOptions = optionResults
log()

// --- 4. The service path: tiled x2 of a 512x512 photo, useful GFLOP/s -------------------------
log(`## Service path: runTiled, astronaut.png 512x512 x2, ${THREADS} threads`)
log()
log(`Useful GFLOP/s counts the FLOPs of one untiled pass; tile margins are overhead.`)
log()
log(`| model | tile core / margin | seconds | useful GFLOP/s | of peak |`)
log(`|---|---|---|---|---|`)
const astronaut = await loadRgb('astronaut.png')
const serviceRows: unknown[] = []
for (const id of ['esrgan-slim', 'esrgan-medium']) {
  const path = await modelPath(id, 2)
  const adapter = esrganAdapters.find((a) => a.info.id === id)!
  const session = await createSession(path, DEFAULT_TUNING)
  const useful = await countConvFlops(path, 512, 512)
  for (const [tileSize, margin] of [
    [128, 16],
    [224, 16],
    [256, 16],
  ] as const) {
    const peakHere = await convPeak()
    const model = {
      scale: 2,
      valueRange: adapter.variant.valueRange,
      run: async (input: Float32Array, h: number, w: number) => {
        const out = await session.run({ input: new ort.Tensor('float32', input, [1, 3, h, w]) })
        return out.output!.data as Float32Array
      },
    }
    const started = performance.now()
    await runTiled(astronaut, model, { tileSize, margin })
    const seconds = (performance.now() - started) / 1000
    serviceRows.push({ id, tileSize, margin, seconds, useful, peak: peakHere.gflops })
    log(`| ${id} x2 | ${tileSize} / ${margin} | ${seconds.toFixed(2)} | ${f1(useful / seconds / 1e9)} | ${pct(useful / seconds / 1e9 / peakHere.gflops)} |`)
  }
  await session.release()
}
results.servicePath = serviceRows
results.loadavgAtEnd = loadavg()
log()
log(
  `Load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}.`,
)

await mkdir('bench/results', { recursive: true })
await writeFile('bench/results/upscale-speed.md', md.join('\n') + '\n')
await writeFile('bench/results/upscale-speed.json', JSON.stringify(results, null, 2) + '\n')
