import { beforeAll, describe, expect, it } from 'vitest'
import { loadModel } from '../../inference/runtime/model-files'
import { maximEnhancers } from '../../inference/models/maxim'
import type { Pixels } from '../../inference/runtime/image'
import { degrade } from '../helpers/degradations'
import { loadRgb, psnr } from '../helpers/images'

const byId = new Map(maximEnhancers.map((a) => [a.info.id, a]))
beforeAll(async () => {
  for (const adapter of maximEnhancers) await loadModel(adapter)
})

const CROPS = {
  'astronaut.png': { left: 128, top: 32, width: 256, height: 256 },
  'chelsea.png': { left: 150, top: 30, width: 256, height: 256 },
  'coffee.png': { left: 200, top: 100, width: 256, height: 256 },
}
const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })
const enhance = (id: string, image: Pixels) => byId.get(id)!.process(image, {}, context())

/**
 * Each restoration on the degradation it was trained to undo, made synthetically from clean crops
 * of the fixture photos (tests/helpers/degradations.ts), scored against the clean crop. Thresholds
 * sit well below what was measured (in brackets, astronaut / chelsea / coffee) and well above what
 * a broken conversion gives (an untouched or garbled image).
 */
describe.each([
  ['maxim-deblurring', 'horizontal motion blur', 2, 4], // +7.2 / +3.7 / +4.6 dB
  ['maxim-dehazing-outdoor', 'uniform haze (t = 0.6, A = 0.9)', 8, 12], // +16.7 / +15.1 / +14.7
  ['maxim-dehazing-indoor', 'uniform haze (t = 0.6, A = 0.9)', 0, 3], // +0.5 / +5.5 / +8.7
  ['maxim-enhancement', 'a dark exposure', 10, 14], // +18.2 / +17.9 / +14.9
] as const)('%s on %s', (id, _what, minimum, meanMinimum) => {
  it(`gains >= ${minimum} dB PSNR on each of 3 photo crops and >= ${meanMinimum} dB on average`, { timeout: 900_000 }, async () => {
    const gains: number[] = []
    for (const [name, crop] of Object.entries(CROPS)) {
      const clean = await loadRgb(name, crop)
      const degraded = await degrade(id, clean)
      const restored = await enhance(id, degraded)
      gains.push(psnr(restored, clean) - psnr(degraded, clean))
    }
    console.log(`${id}: gains ${gains.map((g) => g.toFixed(2)).join(' / ')} dB`)
    for (const gain of gains) expect(gain).toBeGreaterThan(minimum)
    expect(gains.reduce((a, b) => a + b, 0) / gains.length).toBeGreaterThanOrEqual(meanMinimum)
  })
})

describe('maxim-retouching', () => {
  /** A retouch has no ground truth: it must change colour and tone visibly while keeping every edge where it was. */
  it('changes colour and tone but keeps the picture: luminance gradients correlate > 0.9 with the input', { timeout: 900_000 }, async () => {
    for (const [name, crop] of Object.entries(CROPS)) {
      const photo = await loadRgb(name, crop)
      const retouched = await enhance('maxim-retouching', photo)
      const luma = (p: Pixels, i: number) => 0.299 * p.data[i * 3]! + 0.587 * p.data[i * 3 + 1]! + 0.114 * p.data[i * 3 + 2]!
      const a: number[] = []
      const b: number[] = []
      let change = 0
      for (let y = 0; y < photo.height; y++)
        for (let x = 1; x < photo.width; x++) {
          const i = y * photo.width + x
          a.push(luma(photo, i) - luma(photo, i - 1))
          b.push(luma(retouched, i) - luma(retouched, i - 1))
          for (let c = 0; c < 3; c++) change += Math.abs(photo.data[i * 3 + c]! - retouched.data[i * 3 + c]!)
        }
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length
      const [ma, mb] = [mean(a), mean(b)]
      const correlation =
        a.reduce((s, v, i) => s + (v - ma) * (b[i]! - mb), 0) / Math.sqrt(a.reduce((s, v) => s + (v - ma) ** 2, 0) * b.reduce((s, v) => s + (v - mb) ** 2, 0))
      const meanChange = change / (3 * photo.width * photo.height)
      console.log(`maxim-retouching ${name}: gradient correlation ${correlation.toFixed(3)}, mean change ${meanChange.toFixed(1)}/255`)
      expect(correlation).toBeGreaterThan(0.9)
      expect(meanChange).toBeGreaterThan(3)
    }
  })
})
