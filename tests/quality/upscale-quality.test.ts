import { beforeAll, describe, expect, it } from 'vitest'
import { loadModel } from '../../inference/runtime/model-files'
import { esrganAdapters, esrganMedium } from '../../inference/models/esrgan'
import type { Pixels } from '../../inference/runtime/image'
import { loadRgb, psnr, resize } from '../helpers/images'

/**
 * The models made for clean sources, on clean bicubic downscales: what they are trained for. The
 * Real-ESRGANs, trained to redraw real damage, score lower PSNR there by design; their gates are on
 * damaged photos (realesrgan-quality.test.ts).
 */
const cleanSource = esrganAdapters.filter((a) => a.info.madeFor === 'clean')

beforeAll(async () => {
  for (const adapter of cleanSource) {
    await loadModel(adapter)
  }
})

const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })

/**
 * A model must beat the classical baseline it replaces: downscale a real photo with bicubic,
 * bring it back with bicubic and with the model, and compare both against the original.
 */
async function compare(adapter: (typeof esrganAdapters)[number], reference: Pixels, scale: number) {
  const small = await resize(reference, reference.width / scale, reference.height / scale, 'cubic')
  const bicubic = await resize(small, reference.width, reference.height, 'cubic')
  const model = await adapter.process(small, { scale }, context())
  return { model: psnr(model, reference), bicubic: psnr(bicubic, reference) }
}

describe.each([
  ['chelsea.png', 4],
  ['coffee.png', 4],
  ['astronaut.png', 4],
  ['chelsea.png', 2],
] as const)('esrgan-medium on the whole of %s at x%i', (name, scale) => {
  it('has higher PSNR against the original than bicubic upscaling', async () => {
    const original = await loadRgb(name)
    // Crop to a multiple of the scale so the round trip has the original's exact size.
    const reference = await loadRgb(name, {
      left: 0,
      top: 0,
      width: original.width - (original.width % scale),
      height: original.height - (original.height % scale),
    })
    const result = await compare(esrganMedium, reference, scale)
    console.log(
      `medium ${name} x${scale}: model ${result.model.toFixed(2)} dB, bicubic ${result.bicubic.toFixed(2)} dB (+${(result.model - result.bicubic).toFixed(2)} dB)`,
    )
    expect(result.model).toBeGreaterThan(result.bicubic)
  })
})

describe.each(cleanSource.flatMap((a) => [2, 4].map((scale) => [a.info.id, scale, a] as const)))('%s at x%i', (_id, scale, adapter) => {
  it('beats bicubic on crops of two photos', { timeout: 900_000 }, async () => {
    for (const [name, left, top] of [
      ['chelsea.png', 128, 32],
      ['astronaut.png', 160, 64],
    ] as const) {
      const reference = await loadRgb(name, { left, top, width: 192, height: 192 })
      const result = await compare(adapter, reference, scale)
      console.log(
        `${adapter.info.id} ${name} crop x${scale}: model ${result.model.toFixed(2)} dB, bicubic ${result.bicubic.toFixed(2)} dB (+${(result.model - result.bicubic).toFixed(2)} dB)`,
      )
      expect(result.model).toBeGreaterThan(result.bicubic)
    }
  })
})
