import { beforeAll, describe, expect, it } from 'vitest'
import { ensureConverted } from '../../inference/convert/catalogue'
import { esrganMedium } from '../../inference/models/esrgan'
import { loadRgb, psnr, resize } from '../helpers/images'

beforeAll(async () => {
  const paths = new Map<string, string>()
  for (const w of esrganMedium.weights) paths.set(w.onnxFile, (await ensureConverted(w)).path)
  await esrganMedium.load(paths)
}, 120_000)

const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })

/**
 * The model must beat the classical baseline it replaces: downscale a real photo with bicubic,
 * bring it back with bicubic and with the model, and compare both against the original.
 */
describe.each([
  ['chelsea.png', 4],
  ['coffee.png', 4],
  ['astronaut.png', 4],
  ['chelsea.png', 2],
] as const)('esrgan-medium on %s at x%i', (name, scale) => {
  it('has higher PSNR against the original than bicubic upscaling', async () => {
    const original = await loadRgb(name)
    // Crop to a multiple of the scale so the round trip has the original's exact size.
    const width = original.width - (original.width % scale)
    const height = original.height - (original.height % scale)
    const reference = await loadRgb(name, { left: 0, top: 0, width, height })
    const small = await resize(reference, width / scale, height / scale, 'cubic')
    const bicubic = await resize(small, width, height, 'cubic')
    const model = await esrganMedium.process(small, { model: 'esrgan-medium', scale }, context())
    const psnrModel = psnr(model, reference)
    const psnrBicubic = psnr(bicubic, reference)
    console.log(`${name} x${scale}: model ${psnrModel.toFixed(2)} dB, bicubic ${psnrBicubic.toFixed(2)} dB (+${(psnrModel - psnrBicubic).toFixed(2)} dB)`)
    expect(psnrModel).toBeGreaterThan(psnrBicubic)
  })
})
