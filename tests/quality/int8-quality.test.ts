import { readFile } from 'node:fs/promises'
import { InferenceSession } from 'onnxruntime-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureConverted } from '../../inference/convert/cache'
import { optimizedOpCounts, quantizeModel } from '../../inference/convert/quantize'
import type { ConvertSource } from '../../inference/models/adapter'
import { esrganMedium } from '../../inference/models/esrgan'
import type { Pixels } from '../../inference/runtime/image'
import { sessionOptions } from '../../inference/runtime/sessions'
import { loadRgb, psnr, resize } from '../helpers/images'
import { calibrationSet, tiledUpscale } from '../helpers/int8'

/**
 * The quantizer on a real network: UpscalerJS's esrgan-medium x2, quantized with the calibration set, against the
 * fp32 network it came from, on whole photos through the service's tiles. Every family and scale, with times:
 * bench/int8-speed.ts (bench/results/int8-speed.md); the quantizer's plumbing: tests/unit/quantize.test.ts.
 */
const weights = esrganMedium.sources.find((s) => s.kind === 'convert' && s.file.endsWith('x2.onnx')) as ConvertSource
let fp32: InferenceSession
let int8: InferenceSession
let quantized: Uint8Array
beforeAll(async () => {
  const bytes = new Uint8Array(await readFile((await ensureConverted(weights)).path))
  quantized = (await quantizeModel(bytes, await calibrationSet(255))).model
  fp32 = await InferenceSession.create(bytes, sessionOptions())
  int8 = await InferenceSession.create(quantized, { ...sessionOptions(), logSeverityLevel: 3 })
}, 900_000)

const upscale = (session: InferenceSession, image: Pixels) => tiledUpscale(session, esrganMedium.variant, 2, image)

describe('esrgan-medium x2 in int8', () => {
  it('runs as integer kernels: ORT fuses all but the first and last of its 28 Convs into QLinearConv', { timeout: 900_000 }, async () => {
    const ops = await optimizedOpCounts(quantized)
    expect(ops.get('QLinearConv')).toBe(26)
  })

  it.each(['chelsea.png', 'coffee.png'])('matches the fp32 network on the whole of %s: PSNR >= 38 dB between them', { timeout: 900_000 }, async (name) => {
    const image = await loadRgb(name)
    const agreement = psnr(await upscale(int8, image), await upscale(fp32, image))
    console.log(`esrgan-medium x2 int8 vs fp32 on ${name}: ${agreement.toFixed(2)} dB`)
    expect(agreement).toBeGreaterThanOrEqual(38)
  })

  it('still beats bicubic on a downscaled chelsea.png, within 0.25 dB of fp32', { timeout: 900_000 }, async () => {
    const original = await loadRgb('chelsea.png', { left: 0, top: 0, width: 450, height: 300 })
    const small = await resize(original, 225, 150, 'cubic')
    const bicubic = psnr(await resize(small, 450, 300, 'cubic'), original)
    const [exact, integer] = [psnr(await upscale(fp32, small), original), psnr(await upscale(int8, small), original)]
    console.log(`chelsea.png x2: bicubic ${bicubic.toFixed(2)} dB, fp32 ${exact.toFixed(2)} dB, int8 ${integer.toFixed(2)} dB`)
    expect(integer).toBeGreaterThan(bicubic)
    // Measured: fp32 33.67 dB, int8 33.53 (bicubic 31.80).
    expect(exact - integer).toBeLessThan(0.25)
  })
})
