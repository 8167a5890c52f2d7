/**
 * Speed of the MAXIM graph models (denoise and enhance): onnxruntime-node on our conversion vs
 * UpscalerJS's own runtime (TF.js cpu), same weights, same 64x64 input; what the fusions of
 * inference/convert/onnx-fusions.ts gain at the service's 256x256 tile; and the service path's
 * throughput on a real photo.
 *
 *   npx tsx bench/maxim-speed.ts            writes bench/results/maxim-speed.{md,json}
 *
 * TF.js cpu needs tens of minutes per graph, so its time is the one recorded with each reference
 * output by scripts/record-tfjs-references.ts on this machine (the file gives the date); ORT times
 * are the best of several runs, since contention only ever adds time.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { loadModel } from '../inference/runtime/model-files'
import { packageDir } from '../inference/runtime/model-paths'
import { convertGraphModel, loadGraphModel } from '../inference/convert/tfjs-graph-to-onnx'
import { MAXIM_TILE, maximDenoising, maximEnhancers } from '../inference/models/maxim'
import { intraOpThreads } from '../inference/runtime/sessions'
import { addGaussianNoise, loadRgb, psnr } from '../tests/helpers/images'
import { readReference, REFERENCE_SIZE } from '../tests/helpers/tfjs-references'

const md: string[] = []
const log = (line = '') => {
  console.log(line)
  md.push(line)
}
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: availableParallelism(),
  ortThreads: intraOpThreads(),
  loadavgAtStart: loadavg(),
}

async function bestSeconds(runs: number, f: () => Promise<unknown>) {
  await f() // warm-up
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await f()
    best = Math.min(best, (performance.now() - started) / 1000)
  }
  return best
}

async function ortSeconds(npmPackage: string, side: number, fuse: boolean, runs: number) {
  const { bytes, stats } = convertGraphModel(await loadGraphModel(join(packageDir(npmPackage), 'models/model.json')), { inputShape: [1, side, side, 3], fuse })
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: intraOpThreads(),
    interOpNumThreads: 1,
    enableCpuMemArena: false,
  })
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * side * side }, (_, i) => ((i * 37) % 255) / 255),
    [1, 3, side, side],
  )
  const seconds = await bestSeconds(runs, () => session.run({ input }))
  await session.release()
  return { seconds, nodes: stats.onnxNodes }
}

log('# MAXIM speed (bench/maxim-speed.ts)')
log()
log(
  `${results.date}, ${results.cpu}, ${results.cores} cores, onnxruntime-node ${ort.env.versions?.common} with ${results.ortThreads} intra-op threads, load average at start ${loadavg()[0]!.toFixed(1)}.`,
)
log()
log('TF.js times are the single runs recorded with each reference output (`tests/fixtures/tfjs-references/`), not re-run here: the recordings took')
log('16-45 minutes each, ran two at a time on one core each, and the host has since changed CPU, so read the "vs TF.js" column as an order of magnitude.')
log()
log(
  `| model | TF.js cpu, ${REFERENCE_SIZE}² (recorded) | ORT ${REFERENCE_SIZE}² | vs TF.js | ORT ${MAXIM_TILE}² unfused | ORT ${MAXIM_TILE}² fused | fusion gain | ONNX nodes unfused -> fused |`,
)
log('|---|---|---|---|---|---|---|---|')
const rows: unknown[] = []
for (const adapter of [maximDenoising, ...maximEnhancers]) {
  const npmPackage = adapter.sources.find((s) => s.kind === 'convert')!.npmPackage
  const reference = await readReference(npmPackage)
  const small = await ortSeconds(npmPackage, REFERENCE_SIZE, true, 5)
  const plain = await ortSeconds(npmPackage, MAXIM_TILE, false, 2)
  const fused = await ortSeconds(npmPackage, MAXIM_TILE, true, 2)
  const tfjs = reference?.seconds
  rows.push({ id: adapter.info.id, tfjsSeconds: tfjs ?? null, ortSmall: small.seconds, ortTileUnfused: plain.seconds, ortTileFused: fused.seconds })
  log(
    `| ${adapter.info.id} | ${tfjs ? `${tfjs.toFixed(0)} s` : 'not recorded'} | ${small.seconds.toFixed(2)} s | ${tfjs ? `**${(tfjs / small.seconds).toFixed(0)}x**` : 'n/a'} | ${plain.seconds.toFixed(2)} s | ${fused.seconds.toFixed(2)} s | **${(plain.seconds / fused.seconds).toFixed(2)}x** | ${plain.nodes} -> ${fused.nodes} |`,
  )
}
results.models = rows
log()

// The service path on a real photo: padding, 256 px tiles with 16 px margins cross-faded, colour restore.
await loadModel(maximDenoising)
const clean = await loadRgb('astronaut.png')
const noisy = addGaussianNoise(clean, 25, 2024)
let tiles = 0
const context = { signal: new AbortController().signal, onProgress: (_done: number, total: number) => (tiles = total) }
let denoised = noisy
const photoSeconds = await bestSeconds(1, async () => (denoised = await maximDenoising.process(noisy, { model: 'maxim-denoising', scale: 1 }, context)))
const pixels = clean.width * clean.height
results.photo = {
  image: 'astronaut.png 512x512, Gaussian sigma 25',
  tiles,
  seconds: photoSeconds,
  psnrNoisy: psnr(noisy, clean),
  psnrDenoised: psnr(denoised, clean),
}
log(
  `Service path, maxim-denoising on astronaut.png (512x512, Gaussian noise sigma 25): ${tiles} tiles, **${photoSeconds.toFixed(1)} s** = ${(((pixels / photoSeconds) * 60) / 1e6).toFixed(2)} MP per minute; PSNR ${psnr(noisy, clean).toFixed(2)} -> ${psnr(denoised, clean).toFixed(2)} dB.`,
)
log()
log(
  `Load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}.`,
)

await mkdir('bench/results', { recursive: true })
await writeFile('bench/results/maxim-speed.md', md.join('\n') + '\n')
await writeFile('bench/results/maxim-speed.json', JSON.stringify(results, null, 2) + '\n')
