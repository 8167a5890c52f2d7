import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { fuseGraph } from '../../inference/convert/onnx-fusions'
import { OnnxGraphBuilder } from '../../inference/convert/onnx-graph'

/**
 * The fusions on small hand-built graphs spelled the way the jax2tf exports spell them: each must
 * be found, compute the same as the ops it replaces, and be left alone when a constant differs.
 */
const SHAPE = [1, 4, 6, 8]
const numel = SHAPE.reduce((a, b) => a * b, 1)
const ramp = (n: number, scale: number, phase = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + phase) * scale)

type Build = (g: OnnxGraphBuilder, x: string, constants: { gelu: number }, shapes: Map<string, number[]>) => string

const layerNorm: Build = (g, x) => {
  const c = SHAPE.at(-1)!
  const axes = g.addTypedInitializer('axes', [1], BigInt64Array.from([3n]))
  const inv = g.addInitializer('inv', [], [1 / c])
  const mean = g.addNode('Mul', [g.addNode('ReduceSum', [x, axes], 's', { keepdims: 0 }), inv], 'mean')
  const meanSq = g.addNode('Mul', [g.addNode('ReduceSum', [g.addNode('Mul', [x, x], 'sq'), axes], 's2', { keepdims: 0 }), inv], 'meansq')
  const variance = g.addNode('Max', [g.addInitializer('zero', [], [0]), g.addNode('Sub', [meanSq, g.addNode('Mul', [mean, mean], 'm2')], 'd')], 'var')
  const kept = g.addTypedInitializer('kept', [4], BigInt64Array.from([1n, 4n, 6n, 1n]))
  const rs = g.addNode(
    'Reciprocal',
    [g.addNode('Sqrt', [g.addNode('Add', [g.addNode('Reshape', [variance, kept], 'vr'), g.addInitializer('eps', [], [1e-6])], 'a')], 'sqrt')],
    'rs',
  )
  const k = g.addNode('Mul', [rs, g.addInitializer('gamma', [c], ramp(c, 1, 1))], 'k')
  const centred = g.addNode('Sub', [x, g.addNode('Reshape', [mean, kept], 'mr')], 'xc')
  return g.addNode('Add', [g.addNode('Mul', [centred, k], 'y'), g.addInitializer('beta', [c], ramp(c, 0.3, 2))], 'ln')
}

const gelu: Build = (g, x, { gelu: half }) => {
  const inner = g.addNode(
    'Add',
    [x, g.addNode('Mul', [g.addNode('Mul', [g.addInitializer('cubic', [], [0.044715]), x], 'b'), g.addNode('Mul', [x, x], 'sq')], 't')],
    'u',
  )
  const tanh = g.addNode('Tanh', [g.addNode('Mul', [g.addInitializer('k', [], [Math.sqrt(2 / Math.PI)]), inner], 'v')], 'w')
  return g.addNode(
    'Mul',
    [g.addNode('Mul', [g.addInitializer('half', [], [half]), x], 'a'), g.addNode('Add', [g.addInitializer('one', [], [1]), tanh], 'z')],
    'gelu',
  )
}

/** A dense layer over axis 1 (H): swap it with the last axis, multiply, add the bias, swap back. */
const denseOverH: Build = (g, x) => {
  const swapped = g.addNode('Transpose', [x], 't1', { perm: [0, 3, 2, 1] })
  const dense = g.addNode('MatMul', [swapped, g.addInitializer('w', [4, 4], ramp(16, 0.5))], 'mm')
  return g.addNode('Transpose', [g.addNode('Add', [dense, g.addInitializer('bias', [4], ramp(4, 0.2, 3))], 'ad')], 't2', { perm: [0, 3, 2, 1] })
}

/**
 * What the second stage rewrites, spelled as the converter emits it: an NHWC conv (Transposes around an
 * ONNX Conv) with its bias added after, jax's leaky ReLU, a dense layer + bias + GELU cut into two channel
 * halves, and the halves concatenated again into a dense layer. Records the shapes the converter would.
 */
const convAndSplitDense: Build = (g, x, _constants, shapes) => {
  const c = SHAPE.at(-1)!
  const nchw = g.addNode('Transpose', [x], 'nchw', { perm: [0, 3, 1, 2] })
  const conv = g.addNode('Conv', [nchw, g.addInitializer('kernel', [c, c, 3, 3], ramp(c * c * 9, 0.2))], 'conv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
  const nhwc = g.addNode('Transpose', [conv], 'nhwc', { perm: [0, 2, 3, 1] })
  const biased = g.addNode('Add', [nhwc, g.addInitializer('conv_bias', [1, 1, 1, c], ramp(c, 0.1, 4))], 'conv_biased')
  const ge = g.addNode('GreaterOrEqual', [biased, g.addInitializer('zero', [], [0])], 'ge')
  const scaled = g.addNode('Mul', [g.addInitializer('slope', [], [0.2]), biased], 'scaled')
  const leaky = g.addNode('Where', [ge, biased, scaled], 'leaky')
  const dense = g.addNode('MatMul', [leaky, g.addInitializer('w_in', [c, 2 * c], ramp(2 * c * c, 0.3, 5))], 'dense')
  const denseBiased = g.addNode('Add', [dense, g.addInitializer('b_in', [1, 1, 1, 2 * c], ramp(2 * c, 0.2, 6))], 'dense_biased')
  const gelu = g.addNode('FastGelu', [denseBiased], 'gelu')
  g.nodes.at(-1)!.domain = 'com.microsoft'
  const int64 = (name: string, v: number[]) => g.addTypedInitializer(name, [v.length], BigInt64Array.from(v.map(BigInt)))
  const [n, h, w] = SHAPE as [number, number, number]
  const half = (i: number) =>
    g.addNode(
      'Slice',
      [gelu, int64(`s${i}`, [0, 0, 0, i * c]), int64(`e${i}`, [n, h, w, (i + 1) * c]), int64(`a${i}`, [0, 1, 2, 3]), int64(`st${i}`, [1, 1, 1, 1])],
      `half${i}`,
    )
  const [a, b] = [half(0), half(1)]
  const gated = g.addNode('Mul', [a, b], 'gated')
  const concat = g.addNode('Concat', [gated, a], 'concat', { axis: 3 })
  const out = g.addNode('MatMul', [concat, g.addInitializer('w_out', [2 * c, c], ramp(2 * c * c, 0.3, 7))], 'out')
  const wide = [...SHAPE.slice(0, -1), 2 * c]
  for (const [name, shape] of Object.entries({
    nhwc: SHAPE,
    conv_biased: SHAPE,
    leaky: SHAPE,
    dense: wide,
    dense_biased: wide,
    gelu: wide,
    half0: SHAPE,
    half1: SHAPE,
    gated: SHAPE,
    concat: wide,
    out: SHAPE,
  }))
    shapes.set(name, shape)
  return out
}

async function run(build: Build, fuse: boolean, constants = { gelu: 0.5 }) {
  const g = new OnnxGraphBuilder()
  g.uniqueName('x')
  const shapes = new Map([['x', SHAPE]])
  const out = build(g, 'x', constants, shapes)
  const counts = fuse ? fuseGraph(g, shapes, [out]) : null
  g.removeUnused([out])
  const ops = g.nodes.map((n) => n.opType)
  const bytes = g.build({ graphName: 'fusion-test', opset: 17, inputs: [{ name: 'x', dims: SHAPE }], outputs: [{ name: out, dims: SHAPE }] })
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' })
  const result = await session.run({ x: new ort.Tensor('float32', ramp(numel, 2), SHAPE) })
  return { counts, ops, values: result[out]!.data as Float32Array }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)

describe('graph fusions for converted TF.js graph models', () => {
  it('turns the jax LayerNorm spelling into one LayerNormalization with the same result', async () => {
    const fused = await run(layerNorm, true)
    expect(fused.counts).toMatchObject({ layerNorm: 1 })
    expect(fused.ops).toEqual(['LayerNormalization'])
    expect(maxDiff(fused.values, (await run(layerNorm, false)).values)).toBeLessThan(1e-4)
  })

  it('turns the tanh-approximated GELU into FastGelu, and leaves a look-alike with another constant alone', async () => {
    const fused = await run(gelu, true)
    expect(fused.ops).toEqual(['FastGelu'])
    expect(maxDiff(fused.values, (await run(gelu, false)).values)).toBeLessThan(1e-5)
    const lookAlike = await run(gelu, true, { gelu: 0.6 })
    expect(lookAlike.counts).toMatchObject({ gelu: 0 })
    expect(lookAlike.ops).toContain('Tanh')
  })

  it('computes a dense layer over an inner axis as W^T x, without the two Transposes', async () => {
    const fused = await run(denseOverH, true)
    expect(fused.counts).toMatchObject({ leftMatMul: 1 })
    expect(fused.ops).not.toContain('Transpose')
    expect(maxDiff(fused.values, (await run(denseOverH, false)).values)).toBeLessThan(1e-5)
  })

  it('moves conv biases into the Conv, makes LeakyRelu, and splits dense layers instead of slicing and concatenating', async () => {
    const fused = await run(convAndSplitDense, true)
    expect(fused.counts).toMatchObject({ convBias: 1, leakyRelu: 1, splitDense: 1, splitConcat: 1 })
    expect(fused.ops).not.toContain('Slice')
    expect(fused.ops).not.toContain('Concat')
    expect(fused.ops).not.toContain('Where')
    // Two bias Adds (one per half) and the sum of the two halves of the last dense layer.
    expect(fused.ops.filter((op) => op === 'Add')).toHaveLength(3)
    expect(maxDiff(fused.values, (await run(convAndSplitDense, false)).values)).toBeLessThan(1e-5)
  })
})
