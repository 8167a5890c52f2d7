import { expect } from 'vitest'
import { maximDenoising } from '../../inference/models/maxim'
import type { Pixels } from '../../inference/runtime/image'
import { addGaussianNoise, loadRgb, psnr } from './images'

/** The denoise quality files' shared runs: each photo (or crop) and noise level denoised once, through the service's own path. */
export const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })

export type Crop = { left: number; top: number; width: number; height: number }

const runs = new Map<string, Promise<{ clean: Pixels; noisy: Pixels; denoised: Pixels; tiles: number }>>()
export function denoisedPhoto(name: string, sigma: number, crop?: Crop) {
  const key = `${name}@${sigma}${crop ? JSON.stringify(crop) : ''}`
  if (!runs.has(key))
    runs.set(
      key,
      (async () => {
        const clean = await loadRgb(name, crop)
        const noisy = addGaussianNoise(clean, sigma, 2024)
        let tiles = 0
        const denoised = await maximDenoising.process(noisy, {}, { ...context(), onProgress: (_done, total) => (tiles = total) })
        return { clean, noisy, denoised, tiles }
      })(),
    )
  return runs.get(key)!
}

/** How many dB closer to the clean photo the result is than the noisy input (Gaussian noise, fixed seed), logged. */
export async function gainOf(name: string, sigma: number, crop?: Crop) {
  const { clean, noisy, denoised } = await denoisedPhoto(name, sigma, crop)
  expect([denoised.width, denoised.height]).toEqual([clean.width, clean.height])
  const before = psnr(noisy, clean)
  const after = psnr(denoised, clean)
  const where = crop ? `${name} crop at ${crop.left},${crop.top}` : `${name} (whole, ${clean.width}x${clean.height})`
  console.log(`${where} sigma ${sigma}: noisy ${before.toFixed(2)} dB -> denoised ${after.toFixed(2)} dB (+${(after - before).toFixed(2)} dB)`)
  return after - before
}
