/**
 * Speed of MAXIM denoising: onnxruntime-node (our TF.js graph -> ONNX conversion) vs UpscalerJS's
 * own runtime path in Node (TF.js graph model, cpu backend), same weights, same input; and the
 * time the denoise adapter takes for a 512x512 photo (tiles of 256 with 32 px of context).
 *
 *   npx tsx bench/denoise-speed.ts            writes bench/results/denoise-speed.{md,json}
 *
 * The machine is shared: ORT figures are the best of several runs (contention only adds time);
 * TF.js takes minutes per run, so it runs once, and the load average is recorded beside it.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import * as ort from 'onnxruntime-node'
import { ensureConverted, packageDir } from '../inference/convert/catalogue'
import { convertGraphModel, loadGraphModel } from '../inference/convert/tfjs-graph-to-onnx'
import { MAXIM_TILE, maximDenoising } from '../inference/models/maxim'
import { intraOpThreads } from '../inference/runtime/sessions'
import { addGaussianNoise, loadRgb, psnr } from '../tests/helpers/images'

const NPM_PACKAGE = '@upscalerjs/maxim-denoising'
const SIZE = 64
const ORT_RUNS = 5
const md: string[] = []
const log = (line = '') => {
  console.log(line)
  md.push(line)
}
const results: Record<string, unknown> = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), ortThreads: intraOpThreads(), loadavgAtStart: loadavg() }
const seconds = (ms: number) => (ms / 1000).toFixed(2)

async function best(runs: number, f: () => Promise<unknown>) {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await f()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return { best: times[0]!, median: times[Math.floor(times.length / 2)]! }
}

log(`# Denoise speed (${NPM_PACKAGE})`)
log()
log(`${results.date}, ${results.cpu}, ${results.cores} cores, ORT ${ort.env.versions?.common} with ${results.ortThreads} intra-op threads, load average at start ${(loadavg()[0] ?? 0).toFixed(1)}`)
log()

// 1. Same input, both runtimes.
const modelJson = join(packageDir(NPM_PACKAGE), 'models/model.json')
const crop = addGaussianNoise(await loadRgb('astronaut.png', { left: 160, top: 60, width: SIZE, height: SIZE }), 25, 7)
const unit = Float32Array.from(crop.data, (v) => v / 255)
const plane = SIZE * SIZE
const chw = new Float32Array(3 * plane)
for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = unit[p * 3 + c]!

const converted = convertGraphModel(await loadGraphModel(modelJson), { inputShape: [1, SIZE, SIZE, 3] })
const session = await ort.InferenceSession.create(converted.bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: intraOpThreads(), interOpNumThreads: 1 })
const feeds = { input: new ort.Tensor('float32', chw, [1, 3, SIZE, SIZE]) }
await session.run(feeds) // warm-up
const ortTime = await best(ORT_RUNS, () => session.run(feeds))

await tf.setBackend('cpu')
;((await import(NPM_PACKAGE)).default as { setup?: (t: typeof tf) => void }).setup?.(tf)
const json = JSON.parse(await readFile(modelJson, 'utf8'))
const shards = Buffer.concat(await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dirname(modelJson), p)))))
const tfModel = await tf.loadGraphModel(
  tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData: shards.buffer.slice(shards.byteOffset, shards.byteOffset + shards.byteLength) }),
)
const loadavgBeforeTfjs = loadavg()[0]!
const tfStarted = performance.now()
const tfOut = (await tfModel.executeAsync(tf.tensor4d(unit, [1, SIZE, SIZE, 3]))) as tf.Tensor
tfOut.dataSync()
const tfjsMs = performance.now() - tfStarted

results.sameInput = { size: SIZE, ortBestMs: ortTime.best, ortMedianMs: ortTime.median, tfjsCpuMs: tfjsMs, speedup: tfjsMs / ortTime.best, loadavgBeforeTfjs, onnxNodes: converted.stats.onnxNodes, tfNodes: converted.stats.tfNodes }
log(`## Same weights, same ${SIZE}x${SIZE} input`)
log()
log('| runtime | time | vs TF.js cpu |')
log('| --- | --- | --- |')
log(`| TF.js 4.11 cpu backend (UpscalerJS's path), 1 run | ${seconds(tfjsMs)} s | 1x |`)
log(`| onnxruntime-node, converted graph (best of ${ORT_RUNS}; median ${seconds(ortTime.median)} s) | ${seconds(ortTime.best)} s | ${(tfjsMs / ortTime.best).toFixed(1)}x faster |`)
log()
log(`Graph: ${converted.stats.tfNodes} TF nodes, ${converted.stats.folded} folded at conversion, ${converted.stats.onnxNodes} ONNX nodes. Load average before the TF.js run: ${loadavgBeforeTfjs.toFixed(1)}.`)
log()

// 2. A 512x512 photo through the service's adapter (tiling, value range, padding).
const paths = new Map<string, string>()
for (const w of maximDenoising.weights) paths.set(w.onnxFile, (await ensureConverted(w)).path)
await maximDenoising.load(paths)
const clean = await loadRgb('astronaut.png')
const noisy = addGaussianNoise(clean, 25, 2024)
let tiles = 0
const context = { signal: new AbortController().signal, onProgress: (_done: number, total: number) => (tiles = total) }
let denoised = await maximDenoising.process(noisy, { model: 'maxim-denoising', scale: 1 }, context)
const photoTime = await best(2, async () => (denoised = await maximDenoising.process(noisy, { model: 'maxim-denoising', scale: 1 }, context)))
results.photo512 = { image: 'astronaut.png 512x512, Gaussian sigma 25', tile: MAXIM_TILE, tiles, bestMs: photoTime.best, medianMs: photoTime.median, psnrNoisy: psnr(noisy, clean), psnrDenoised: psnr(denoised, clean) }
log('## A 512x512 photo through the denoise adapter')
log()
log(`astronaut.png (512x512) with Gaussian noise sigma 25: ${tiles} tiles of ${MAXIM_TILE}x${MAXIM_TILE}, best of 2 after a warm-up: **${seconds(photoTime.best)} s** (median ${seconds(photoTime.median)} s). PSNR ${psnr(noisy, clean).toFixed(2)} dB -> ${psnr(denoised, clean).toFixed(2)} dB.`)

await mkdir('bench/results', { recursive: true })
await writeFile('bench/results/denoise-speed.md', md.join('\n') + '\n')
await writeFile('bench/results/denoise-speed.json', JSON.stringify(results, null, 2) + '\n')
