import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { OnnxGraphBuilder } from '../../inference/convert/onnx-graph'
import { type CalibrationInput, optimizedOpCounts, quantizeModel } from '../../inference/convert/quantize'
import { random } from '../helpers/chw'

/**
 * The quantizer's plumbing on a small generated model (the shape of the ESRGAN blocks: Conv + bias + ReLU, a residual
 * Add, a dense Concat): which Convs become int8, that ORT fuses them, that the result still computes the model. Real
 * models' int8 quality: tests/quality/int8-quality.test.ts and bench/int8-speed.ts.
 */
function smallModel(): Uint8Array {
  const next = random(7)
  const g = new OnnxGraphBuilder()
  g.uniqueName('x')
  const conv = (input: string, cin: number, cout: number, name: string) => {
    const w = g.addInitializer(
      `${name}_w`,
      [cout, cin, 3, 3],
      Float32Array.from({ length: cout * cin * 9 }, () => (next() - 0.5) * 2 * Math.sqrt(3 / (cin * 9))),
    )
    const b = g.addInitializer(
      `${name}_b`,
      [cout],
      Float32Array.from({ length: cout }, () => (next() - 0.5) * 0.2),
    )
    return g.addNode('Conv', [input, w, b], name, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
  }
  const first = conv('x', 3, 16, 'first')
  const a = g.addNode('Relu', [conv(first, 16, 16, 'a')], 'a_relu')
  const b = conv(a, 16, 16, 'b')
  const sum = g.addNode('Add', [b, first], 'sum')
  const dense = g.addNode('Concat', [a, sum], 'dense', { axis: 1 })
  const c = g.addNode('Relu', [conv(dense, 32, 16, 'c')], 'c_relu')
  const out = conv(c, 16, 3, 'last')
  return g.build({ graphName: 'small', opset: 17, inputs: [{ name: 'x', dims: [1, 3, 48, 48] }], outputs: [{ name: out, dims: [1, 3, 48, 48] }] })
}

const image = (seed: number): CalibrationInput => {
  const next = random(seed)
  // Smooth content with some noise, in [0, 1]: like photo crops, unlike white noise.
  const data = new Float32Array(3 * 48 * 48)
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 48; x++) data[(c * 48 + y) * 48 + x] = 0.5 + 0.3 * Math.sin((x + seed) / 7 + c) * Math.cos((y - seed) / 9) + 0.05 * (next() - 0.5)
  return { data, dims: [1, 3, 48, 48] }
}

async function run(model: Uint8Array, input: CalibrationInput) {
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 })
  const out = await session.run({ x: new ort.Tensor('float32', input.data, input.dims) })
  const data = out[session.outputNames[0]!]!.data as Float32Array
  await session.release()
  return data
}

describe('quantizeModel', () => {
  it('turns the inner Convs into int8 that ORT fuses into QLinearConv; the first and the last stay fp32', async () => {
    const { model, report } = await quantizeModel(smallModel(), [image(1), image(2), image(3)])
    // Quantized tensors: the inputs of a, b and c (first's output, a's ReLU, the Concat) and their outputs (a's ReLU
    // again, b's output, c's ReLU): 5 distinct ones.
    expect(report).toEqual({ quantized: 3, kept: 2, activations: 5 })
    const ops = await optimizedOpCounts(model)
    expect(ops.get('QLinearConv')).toBe(3)
    // ORT fuses the fp32 first and last Convs in its own way (Conv, or FusedConv with the ReLU): two float convolutions.
    expect((ops.get('Conv') ?? 0) + (ops.get('FusedConv') ?? 0)).toBe(2)
    expect(ops.get('DequantizeLinear') ?? 0).toBeGreaterThan(0)
  })

  it('computes the same model: on an image it was not calibrated on, within 1 % RMS of the fp32 output range', async () => {
    const fp32 = smallModel()
    const { model } = await quantizeModel(fp32, [image(1), image(2), image(3)])
    const input = image(9)
    const [exact, int8] = await Promise.all([run(fp32, input), run(model, input)])
    let squared = 0
    let low = Number.POSITIVE_INFINITY
    let high = Number.NEGATIVE_INFINITY
    for (let i = 0; i < exact.length; i++) {
      squared += (exact[i]! - int8[i]!) ** 2
      low = Math.min(low, exact[i]!)
      high = Math.max(high, exact[i]!)
    }
    const relative = Math.sqrt(squared / exact.length) / (high - low)
    console.log(`int8 vs fp32 on the small model: RMS ${(100 * relative).toFixed(3)} % of the output's range`)
    expect(relative).toBeLessThan(0.01)
    expect(relative).toBeGreaterThan(0)
  })

  it('refuses to quantize without calibration inputs', async () => {
    await expect(quantizeModel(smallModel(), [])).rejects.toThrow(/no calibration inputs/)
  })
})
