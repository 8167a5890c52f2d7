import { beforeAll, describe, expect, it } from 'vitest'
import { ensureConverted } from '../../inference/convert/catalogue'
import { maximDenoising } from '../../inference/models/maxim'
import { addGaussianNoise, loadRgb, psnr } from '../helpers/images'

beforeAll(async () => {
  const paths = new Map<string, string>()
  for (const w of maximDenoising.weights) paths.set(w.onnxFile, (await ensureConverted(w)).path)
  await maximDenoising.load(paths)
}, 300_000)

const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })

/**
 * Real photos with Gaussian noise of a fixed seed: the denoised result must be at least 4 dB
 * closer to the clean photo than the noisy input is. 256x256 crops (one model tile each) keep
 * the run short on a shared CPU.
 */
describe.each([
  ['astronaut.png', { left: 128, top: 32, width: 256, height: 256 }],
  ['chelsea.png', { left: 150, top: 30, width: 256, height: 256 }],
  ['coffee.png', { left: 200, top: 100, width: 256, height: 256 }],
] as const)('maxim-denoising on %s', (name, crop) => {
  it.each([15, 25])('gains >= 4 dB PSNR over the input at Gaussian sigma %i', { timeout: 300_000 }, async (sigma) => {
    const clean = await loadRgb(name, crop)
    const noisy = addGaussianNoise(clean, sigma, 2024)
    const denoised = await maximDenoising.process(noisy, { model: 'maxim-denoising', scale: 1 }, context())
    expect([denoised.width, denoised.height]).toEqual([clean.width, clean.height])
    const before = psnr(noisy, clean)
    const after = psnr(denoised, clean)
    console.log(`${name} sigma ${sigma}: noisy ${before.toFixed(2)} dB -> denoised ${after.toFixed(2)} dB (+${(after - before).toFixed(2)} dB)`)
    expect(after - before).toBeGreaterThanOrEqual(4)
  })
})
