// Int8 against fp32 for every ESRGAN-family network (UpscalerJS ESRGAN slim / medium / thick, Real-ESRGAN general and
// x4plus), side by side in one run: the quantizer (inference/convert/quantize.ts) on the calibration set of
// tests/helpers/int8.ts, ORT's fused integer kernels counted, time per tile window (the service's size: core plus its
// margins, best of 3, the two alternating), and the int8 output against the fp32 one on whole chelsea.png and 256 px crops
// of astronaut.png and coffee.png, tiled as the service tiles them. Gate (issue #19): >= 38 dB on every image.
// Written to bench/results/int8-speed.md.
//   node_modules/node/bin/node --import tsx bench/int8-speed.ts [--only <model id>]
import { readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg } from 'node:os'
import * as ort from 'onnxruntime-node'
import { ensureConverted } from '../inference/convert/cache'
import { optimizedOpCounts, quantizeModel } from '../inference/convert/quantize'
import type { ConvertSource } from '../inference/models/adapter'
import { ESRGAN_TILE, esrganAdapters, tileSizeOf } from '../inference/models/esrgan'
import { sessionOptions } from '../inference/runtime/sessions'
import { loadRgb, psnr } from '../tests/helpers/images'
import { calibrationSet, networkInput, tiledUpscale } from '../tests/helpers/int8'
import { countConvFlops } from './lib/flops'

const GATE_DB = 38
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
const load = loadavg()[0]!
const images = [
  { name: 'chelsea.png (whole)', pixels: await loadRgb('chelsea.png') },
  { name: 'astronaut.png 256² crop', pixels: await loadRgb('astronaut.png', { left: 128, top: 32, width: 256, height: 256 }) },
  { name: 'coffee.png 256² crop', pixels: await loadRgb('coffee.png', { left: 200, top: 100, width: 256, height: 256 }) },
]
const rows: string[] = []
for (const adapter of esrganAdapters) {
  if (only && adapter.info.id !== only) continue
  const { valueRange } = adapter.variant
  const calibration = await calibrationSet(valueRange)
  for (const source of adapter.sources as ConvertSource[]) {
    const scale = Number(/-x(\d+)\.onnx$/.exec(source.file)![1])
    const path = (await ensureConverted(source)).path
    const fp32Bytes = new Uint8Array(await readFile(path))
    let started = performance.now()
    const { model, report } = await quantizeModel(fp32Bytes, calibration)
    const quantizeSeconds = (performance.now() - started) / 1000
    const ops = await optimizedOpCounts(model)
    const fused = ops.get('QLinearConv') ?? 0
    const options = { ...sessionOptions(), logSeverityLevel: 3 as const }
    const sessions = { fp32: await ort.InferenceSession.create(fp32Bytes, options), int8: await ort.InferenceSession.create(model, options) }
    // One tile window as the service runs it.
    const window = tileSizeOf(adapter.variant) + 2 * ESRGAN_TILE.margin
    const tile = await loadRgb('astronaut.png', { left: 100, top: 60, width: window, height: window })
    const x = networkInput(tile, valueRange)
    const times = { fp32: [] as number[], int8: [] as number[] }
    for (let run = 0; run < 4; run++)
      for (const name of ['fp32', 'int8'] as const) {
        const session = sessions[name]
        started = performance.now()
        const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.data, x.dims) })
        if (run > 0) times[name].push((performance.now() - started) / 1000)
        for (const t of Object.values(out)) t.dispose()
      }
    const fp32Seconds = Math.min(...times.fp32)
    const int8Seconds = Math.min(...times.int8)
    const gops = (await countConvFlops(path, window, window)) / int8Seconds / 1e9
    const agreement: number[] = []
    for (const image of images)
      agreement.push(
        psnr(await tiledUpscale(sessions.int8, adapter.variant, scale, image.pixels), await tiledUpscale(sessions.fp32, adapter.variant, scale, image.pixels)),
      )
    await sessions.fp32.release()
    await sessions.int8.release()
    const worst = Math.min(...agreement)
    const line = `| ${adapter.info.id} x${scale} | ${report.quantized} of ${report.quantized + report.kept} (${fused} fused) | ${quantizeSeconds.toFixed(1)} s | ${(fp32Bytes.length / 2 ** 20).toFixed(1)} -> ${(model.length / 2 ** 20).toFixed(1)} MB | ${window}² | ${(1000 * fp32Seconds).toFixed(0)} ms | ${(1000 * int8Seconds).toFixed(0)} ms | **${(fp32Seconds / int8Seconds).toFixed(2)}x** | ${gops.toFixed(0)} | ${agreement.map((v) => v.toFixed(1)).join(' / ')} | ${worst >= GATE_DB ? 'passes' : '**fails**'} |`
    console.log(line)
    rows.push(line)
  }
}

const report = [
  `# Int8 vs fp32, ESRGAN family (${new Date().toISOString().slice(0, 10)})`,
  '',
  "Static int8 (inference/convert/quantize.ts): int8 weights per output channel, uint8 activations per tensor calibrated (min/max) on 10 inputs (8 crops of the fixture photos, 2 generated textures; tests/helpers/int8.ts); the first and the last convolutions stay fp32. \"Fused\": QLinearConv nodes in ORT's optimized graph. Times: one tile window of the service's size, the network alone, best of 3 after a warm-up, fp32 and int8 alternating. GOP/s: 2 x the int8 model's multiply-adds (its Convs, counted on the fp32 graph) / int8 time, to set against the int8 QLinearConv peak in bench/results/conv-peaks.md. Agreement: PSNR of the int8 output against the fp32 output, 8-bit, tiled as the service tiles. Gate: >= 38 dB on all three.",
  '',
  '| model | Convs int8 | quantize | file | window | fp32 | int8 | speed-up | int8 GOP/s | int8 vs fp32 (dB): chelsea whole / astronaut / coffee | gate |',
  '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ...rows,
  '',
  `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), load average ${load.toFixed(1)} when the run started; onnxruntime-node ${ort.env.versions.common}; ORT spinning ${process.env.ORT_INTRA_OP_SPINNING === '0' ? 'off' : 'on'}.`,
  '',
]
if (!only) await writeFile('bench/results/int8-speed.md', report.join('\n'))
console.log(report.join('\n'))
