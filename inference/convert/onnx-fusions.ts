import onnxProto from 'onnx-proto'
import { MS_DOMAIN, toAttributes, type AttributeValue, type OnnxGraphBuilder, type OnnxNode } from './onnx-graph'

const { onnx } = onnxProto

/**
 * Rewrites of a converted graph that ORT's own optimiser does not find: the jax2tf exports of
 * the MAXIM models spell LayerNorm as ~15 element-wise ops (sum, sum of squares, var = E[x^2] -
 * E[x]^2, rsqrt...), GELU as 9, and every dense layer over a spatial axis as a swapaxes
 * Transpose, a MatMul and a Transpose back (ORT's generic Transpose is slow for these: its
 * element-wise gathers ran at under 1 GB/s here). Each of those passes over the whole activation
 * tensor; fused, the 256x256 denoiser does a third of the memory traffic.
 *
 * A pattern is an op tree whose leaves capture tensors: `$x` any value (the same name must
 * match the same tensor everywhere in the pattern), `c:name` an initializer, checked afterwards.
 * Matched roots are replaced by equivalent nodes writing the same output; the ops nothing reads
 * any more are dropped by `removeUnused`.
 */
type Pattern = string | { op: string; inputs: Pattern[] }
const op = (name: string, ...inputs: Pattern[]): Pattern => ({ op: name, inputs })
const COMMUTATIVE = new Set(['Add', 'Mul', 'Max'])

type Bindings = Record<string, string>

export interface FusionCounts {
  layerNorm: number
  gelu: number
  /** Dense layers applied to an inner axis (swapped last, multiplied, swapped back), computed as W^T x without the Transposes. */
  leftMatMul: number
}

const mean = op('Mul', op('ReduceSum', '$x', 'c:axes'), 'c:inverseCount')
const meanOfSquares = op('Mul', op('ReduceSum', op('Mul', '$x', '$x'), 'c:axes2'), 'c:inverseCount2')
const variance = op('Max', 'c:zero', op('Sub', meanOfSquares, op('Mul', mean, mean)))
const rsqrt = op('Reciprocal', op('Sqrt', op('Add', op('Reshape', variance, 'c:shape2'), 'c:epsilon')))
const LAYER_NORM = op('Add', op('Mul', op('Sub', '$x', op('Reshape', mean, 'c:shape1')), op('Mul', rsqrt, 'c:gamma')), 'c:beta')

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation jax uses by default. */
const GELU = op(
  'Mul',
  op('Mul', 'c:half', '$x'),
  op('Add', 'c:one', op('Tanh', op('Mul', 'c:k', op('Add', '$x', op('Mul', op('Mul', 'c:cubic', '$x'), op('Mul', '$x', '$x')))))),
)

const SWAPPED_DENSE = op('Transpose', op('Add', op('MatMul', op('Transpose', '$x'), 'c:weight'), 'c:bias'))

export function fuseGraph(g: OnnxGraphBuilder, shapes: Map<string, number[]>): FusionCounts {
  const producer = new Map<string, OnnxNode>()
  for (const node of g.nodes) for (const output of node.output) producer.set(output, node)

  const floats = (name: string): Float32Array | null => {
    const t = g.initializer(name)
    if (!t || t.dataType !== onnx.TensorProto.DataType.FLOAT) return null
    const raw = t.rawData!
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
  }
  const ints = (name: string): number[] | null => {
    const t = g.initializer(name)
    if (!t || t.dataType !== onnx.TensorProto.DataType.INT64) return null
    const raw = t.rawData!
    return Array.from(new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), Number)
  }
  const scalar = (name: string) => {
    const v = floats(name)
    return v?.length === 1 ? v[0]! : NaN
  }
  const near = (value: number, expected: number, tolerance = 1e-5) => Math.abs(value - expected) <= tolerance * Math.max(1, Math.abs(expected))
  const perm = (node: OnnxNode | undefined) => node?.attribute.find((a) => a.name === 'perm')?.ints?.map(Number)
  /** The axis a permutation swaps with the last one (all others staying), or -1. */
  const swappedWithLast = (p: number[] | undefined) => {
    if (!p || p.length < 2) return -1
    const last = p.length - 1
    const axis = p[last]!
    return axis !== last && p[axis] === last && p.every((v, i) => i === axis || i === last || v === i) ? axis : -1
  }

  function match(pattern: Pattern, tensor: string, bound: Bindings): Bindings | null {
    if (typeof pattern === 'string') {
      if (pattern.startsWith('c:') && !g.initializer(tensor)) return null
      if (bound[pattern] !== undefined) return bound[pattern] === tensor ? bound : null
      return { ...bound, [pattern]: tensor }
    }
    const node = producer.get(tensor)
    if (!node || node.opType !== pattern.op || (node.domain ?? '') !== '' || node.input.length !== pattern.inputs.length) return null
    const orders = COMMUTATIVE.has(pattern.op) && node.input.length === 2 ? [node.input, [node.input[1]!, node.input[0]!]] : [node.input]
    for (const inputs of orders) {
      let result: Bindings | null = bound
      for (let i = 0; result && i < inputs.length; i++) result = match(pattern.inputs[i]!, inputs[i]!, result)
      if (result) return result
    }
    return null
  }

  /** Replaces the node writing `root` with `nodes`; the last one writes `root`'s output. */
  function replace(root: OnnxNode, nodes: { op: string; inputs: string[]; output?: string; domain?: string; attributes?: Record<string, AttributeValue> }[]) {
    const at = g.nodes.indexOf(root)
    const created = nodes.map((n, i) => {
      const output = i === nodes.length - 1 ? root.output[0]! : n.output!
      return onnx.NodeProto.create({
        opType: n.op,
        domain: n.domain ?? '',
        name: output,
        input: n.inputs,
        output: [output],
        attribute: toAttributes(n.attributes ?? {}),
      })
    })
    g.nodes.splice(at, 1, ...created)
    for (const node of created) producer.set(node.output[0]!, node)
  }

  const counts: FusionCounts = { layerNorm: 0, gelu: 0, leftMatMul: 0 }
  for (const root of [...g.nodes]) {
    const out = root.output[0]!
    if (root.opType === 'Add') {
      const b = match(LAYER_NORM, out, {})
      if (b && fuseLayerNorm(root, b)) counts.layerNorm++
    } else if (root.opType === 'Mul') {
      const b = match(GELU, out, {})
      if (
        b &&
        near(scalar(b['c:half']!), 0.5) &&
        near(scalar(b['c:one']!), 1) &&
        near(scalar(b['c:k']!), Math.sqrt(2 / Math.PI)) &&
        near(scalar(b['c:cubic']!), 0.044715)
      ) {
        replace(root, [{ op: 'FastGelu', domain: MS_DOMAIN, inputs: [b.$x!] }])
        counts.gelu++
      }
    } else if (root.opType === 'Transpose') {
      const b = match(SWAPPED_DENSE, out, {})
      if (b && fuseSwappedDense(root, b)) counts.leftMatMul++
    }
  }
  return counts

  function fuseLayerNorm(root: OnnxNode, b: Bindings): boolean {
    const x = b.$x!
    const shape = shapes.get(x)
    if (!shape) return false
    const channels = shape.at(-1)!
    const last = shape.length - 1
    const gamma = floats(b['c:gamma']!)
    const beta = floats(b['c:beta']!)
    const sameAxes = [b['c:axes']!, b['c:axes2']!].every((a) => ints(a)?.length === 1 && (ints(a)![0] === last || ints(a)![0] === -1))
    const epsilon = scalar(b['c:epsilon']!)
    if (!sameAxes || !gamma || !beta || gamma.length !== channels || beta.length !== channels) return false
    if (!near(scalar(b['c:inverseCount']!), 1 / channels) || !near(scalar(b['c:inverseCount2']!), 1 / channels) || scalar(b['c:zero']!) !== 0 || !(epsilon > 0))
      return false
    // The mean and variance were reshaped to [..., 1], i.e. broadcast over the last axis only.
    const kept = [...shape.slice(0, -1), 1]
    const reshapedTo = (name: string) => ints(name)?.every((d, i) => d === kept[i]) && ints(name)!.length === kept.length
    if (!reshapedTo(b['c:shape1']!) || !reshapedTo(b['c:shape2']!)) return false
    const scale = g.addInitializer(`${root.name}_scale`, [channels], gamma)
    const bias = g.addInitializer(`${root.name}_bias`, [channels], beta)
    replace(root, [{ op: 'LayerNormalization', inputs: [x, scale, bias], attributes: { axis: -1, epsilon } }])
    return true
  }

  function fuseSwappedDense(root: OnnxNode, b: Bindings): boolean {
    const inner = producer.get(producer.get(producer.get(root.input[0]!)!.input[0]!)!.input[0]!)!
    const axis = swappedWithLast(perm(inner))
    const dims = shapes.get(b.$x!)
    const weight = floats(b['c:weight']!)
    const bias = floats(b['c:bias']!)
    const wDims = g.initializer(b['c:weight']!)!.dims.map(Number)
    const biasDims = g.initializer(b['c:bias']!)!.dims.map(Number)
    if (axis < 0 || perm(root)?.join() !== perm(inner)!.join() || !dims || !weight || !bias || wDims.length !== 2) return false
    const [n, f] = wDims as [number, number]
    if (dims[axis] !== n || bias.length !== f || biasDims.slice(0, -1).some((d) => d !== 1)) return false
    // swap(swap(x) W + b) = W^T x + b down the swapped axis: x as [before, n, after], no Transposes.
    const transposed = new Float32Array(n * f)
    for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) transposed[j * n + i] = weight[i * f + j]!
    const before = dims.slice(0, axis).reduce((p, d) => p * d, 1)
    const after = dims.slice(axis + 1).reduce((p, d) => p * d, 1)
    const names = ['x3', 'matmul', 'biased'].map((s) => g.uniqueName(`${root.name}_${s}`)) as [string, string, string]
    replace(root, [
      {
        op: 'Reshape',
        inputs: [b.$x!, g.addTypedInitializer(`${root.name}_x3_shape`, [3], BigInt64Array.from([before, n, after].map(BigInt)))],
        output: names[0],
      },
      { op: 'MatMul', inputs: [g.addInitializer(`${root.name}_weight_t`, [f, n], transposed), names[0]], output: names[1] },
      { op: 'Add', inputs: [names[1], g.addInitializer(`${root.name}_bias_col`, [f, 1], bias)], output: names[2] },
      {
        op: 'Reshape',
        inputs: [names[2], g.addTypedInitializer(`${root.name}_shape`, [dims.length], BigInt64Array.from(dims.map((d, i) => BigInt(i === axis ? f : d))))],
      },
    ])
    return true
  }
}
