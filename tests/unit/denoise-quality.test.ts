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

/** Each photo and noise level is denoised once (through the service's tiles) and shared by the tests below. */
const runs = new Map<string, Promise<{ clean: Pixels; noisy: Pixels; denoised: Pixels; tiles: number }>>()
function denoisedPhoto(name: string, sigma: number) {
  const key = `${name}@${sigma}`
  if (!runs.has(key))
    runs.set(key, (async () => {
      const clean = await loadRgb(name)
      const noisy = addGaussianNoise(clean, sigma, 2024)
      let tiles = 0
      const denoised = await maximDenoising.process(noisy, { model: 'maxim-denoising', scale: 1 }, { ...context(), onProgress: (_done, total) => (tiles = total) })
      return { clean, noisy, denoised, tiles }
    })())
  return runs.get(key)!
}

/**
 * The whole fixture photos with Gaussian noise of a fixed seed, through the service's own path
 * (256 px tiles, cross-faded): the result must be at least 4 dB closer to the clean photo than the
 * noisy input is.
 */
describe.each(['astronaut.png', 'chelsea.png', 'coffee.png'])('maxim-denoising on %s', (name) => {
  it.each([15, 25])('gains >= 4 dB PSNR over the input at Gaussian sigma %i', { timeout: 600_000 }, async (sigma) => {
    const { clean, noisy, denoised } = await denoisedPhoto(name, sigma)
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
   * see tiling.test.ts). What must hold: the result matches one 512x512 run (PSNR >= 45 dB), the
   * tiles denoise as well as that run, and the seams are not where they differ: near the borders
   * between cores the difference is no larger than inside.
   */
  it('denoises astronaut.png (512x512) in 9 cross-faded tiles like one 512x512 run: PSNR >= 45 dB between them, no seams', { timeout: 900_000 }, async () => {
    const side = 512
    const whole = maximAdapter(DENOISING, side)
    await whole.load(new Map([[whole.weights[0]!.onnxFile, (await ensureConverted(whole.weights[0]!)).path]]))
    const { clean, noisy, denoised: tiled, tiles } = await denoisedPhoto('astronaut.png', 25)
    expect(tiles).toBe(9)
    const untiled = await whole.process(noisy, { model: 'maxim-denoising', scale: 1 }, context())
    const gainTiled = psnr(tiled, clean) - psnr(noisy, clean)
    const gainWhole = psnr(untiled, clean) - psnr(noisy, clean)
    // Difference between the two runs, near the borders between cores (x or y within 16 px of 224 or 448) and elsewhere.
    const squared = { border: { sum: 0, n: 0 }, inside: { sum: 0, n: 0 } }
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const zone = [224, 448].some((b) => Math.abs(x - b) < 16 || Math.abs(y - b) < 16) ? squared.border : squared.inside
        for (let c = 0; c < 3; c++) {
          const d = tiled.data[(y * side + x) * 3 + c]! - untiled.data[(y * side + x) * 3 + c]!
          zone.sum += d * d
          zone.n++
        }
      }
    const db = ({ sum, n }: { sum: number; n: number }) => 10 * Math.log10((255 * 255) / (sum / n))
    console.log(`tiled +${gainTiled.toFixed(2)} dB vs untiled +${gainWhole.toFixed(2)} dB; tiled vs untiled ${psnr(tiled, untiled).toFixed(2)} dB (${db(squared.border).toFixed(2)} at the seams, ${db(squared.inside).toFixed(2)} inside)`)
    expect(Math.abs(gainTiled - gainWhole)).toBeLessThan(0.15)
    expect(psnr(tiled, untiled)).toBeGreaterThanOrEqual(45)
    expect(db(squared.border)).toBeGreaterThanOrEqual(db(squared.inside) - 1)
  })
})
