import { beforeAll, describe, expect, it } from 'vitest'
import { ensureConverted } from '../../inference/convert/catalogue'
import { DENOISING, maximAdapter, maximDenoising } from '../../inference/models/maxim'
import type { Pixels } from '../../inference/runtime/image'
import { addGaussianNoise, loadRgb, psnr } from '../helpers/images'

beforeAll(async () => {
  const paths = new Map<string, string>()
  for (const w of maximDenoising.weights) paths.set(w.onnxFile, (await ensureConverted(w)).path)
  await maximDenoising.load(paths)
}, 300_000)

const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })
const denoise = (image: Pixels) => maximDenoising.process(image, { model: 'maxim-denoising', scale: 1 }, context())

/**
 * The whole fixture photos with Gaussian noise of a fixed seed, through the service's own path
 * (256 px tiles, cross-faded): the result must be at least 4 dB closer to the clean photo than the
 * noisy input is.
 */
describe.each(['astronaut.png', 'chelsea.png', 'coffee.png'])('maxim-denoising on %s', (name) => {
  it.each([15, 25])('gains >= 4 dB PSNR over the input at Gaussian sigma %i', { timeout: 600_000 }, async (sigma) => {
    const clean = await loadRgb(name)
    const noisy = addGaussianNoise(clean, sigma, 2024)
    const denoised = await denoise(noisy)
    expect([denoised.width, denoised.height]).toEqual([clean.width, clean.height])
    const before = psnr(noisy, clean)
    const after = psnr(denoised, clean)
    console.log(`${name} sigma ${sigma}: noisy ${before.toFixed(2)} dB -> denoised ${after.toFixed(2)} dB (+${(after - before).toFixed(2)} dB)`)
    expect(after - before).toBeGreaterThanOrEqual(4)
  })
})

describe('maxim-denoising tiled', () => {
  /**
   * MAXIM mixes over its whole input, so no tiling reproduces an untiled run exactly (ESRGAN's does,
   * see tiling.test.ts). What must hold: the tiles denoise as well as one big run, and the seams
   * are not where they differ: near the borders between cores the difference is no larger than inside.
   */
  it('denoises a 320x320 photo in 4 cross-faded tiles as well as one 320x320 run, with no seams', { timeout: 600_000 }, async () => {
    const side = 320
    const whole = maximAdapter(DENOISING, side)
    await whole.load(new Map([[whole.weights[0]!.onnxFile, (await ensureConverted(whole.weights[0]!)).path]]))
    const clean = await loadRgb('astronaut.png', { left: 96, top: 0, width: side, height: side })
    const noisy = addGaussianNoise(clean, 25, 2024)
    const progress: number[] = []
    const tiled = await maximDenoising.process(noisy, { model: 'maxim-denoising', scale: 1 }, { signal: new AbortController().signal, onProgress: (_done, total) => progress.push(total) })
    expect(progress.at(-1)).toBe(4)
    const untiled = await whole.process(noisy, { model: 'maxim-denoising', scale: 1 }, context())
    const gainTiled = psnr(tiled, clean) - psnr(noisy, clean)
    const gainWhole = psnr(untiled, clean) - psnr(noisy, clean)
    // Difference between the two runs, near the border between cores (x or y within 16 px of 224) and elsewhere.
    const squared = { border: { sum: 0, n: 0 }, inside: { sum: 0, n: 0 } }
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const zone = Math.abs(x - 224) < 16 || Math.abs(y - 224) < 16 ? squared.border : squared.inside
        for (let c = 0; c < 3; c++) {
          const d = tiled.data[(y * side + x) * 3 + c]! - untiled.data[(y * side + x) * 3 + c]!
          zone.sum += d * d
          zone.n++
        }
      }
    const db = ({ sum, n }: { sum: number; n: number }) => 10 * Math.log10((255 * 255) / (sum / n))
    console.log(`tiled +${gainTiled.toFixed(2)} dB vs untiled +${gainWhole.toFixed(2)} dB; tiled vs untiled ${psnr(tiled, untiled).toFixed(2)} dB (${db(squared.border).toFixed(2)} at the seams, ${db(squared.inside).toFixed(2)} inside)`)
    expect(Math.abs(gainTiled - gainWhole)).toBeLessThan(0.15)
    expect(psnr(tiled, untiled)).toBeGreaterThanOrEqual(40)
    expect(db(squared.border)).toBeGreaterThanOrEqual(db(squared.inside) - 1)
  })
})
