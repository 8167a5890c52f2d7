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
  /** The rewrites of the second stage (`fuseLiveGraph`), zero when it did not run. */
  convBias: number
  leakyRelu: number
  /** Dense layers whose output was only cut into channel slices: one MatMul per slice, no Slice copies. */
  splitDense: number
  /** Concats only read by a dense layer: one MatMul per part, summed, no copy into the wide tensor. */
  splitConcat: number
  foldedOne: number
  transposes: number
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

/**
 * `outputs`: the graph's outputs. With them the dead ops of the first stage are dropped and a second
 * stage (`fuseLiveGraph`) runs, whose rewrites need to know every reader of a tensor.
 */
export function fuseGraph(g: OnnxGraphBuilder, shapes: Map<string, number[]>, outputs?: string[]): FusionCounts {
  const counts = fusePatterns(g, shapes)
  if (outputs) {
    g.removeUnused(outputs)
    Object.assign(counts, fuseLiveGraph(g, shapes, outputs))
    g.removeUnused(outputs)
  }
  return counts
}

function fusePatterns(g: OnnxGraphBuilder, shapes: Map<string, number[]>): FusionCounts {
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

  const counts: FusionCounts = {
    layerNorm: 0,
    gelu: 0,
    leftMatMul: 0,
    convBias: 0,
    leakyRelu: 0,
    splitDense: 0,
    splitConcat: 0,
    foldedOne: 0,
    transposes: 0,
  }
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

type LiveCounts = Pick<FusionCounts, 'convBias' | 'leakyRelu' | 'splitDense' | 'splitConcat' | 'foldedOne' | 'transposes'>

/**
 * Rewrites that ORT 1.30's optimiser does not do for these graphs, each keeping the result (to float
 * rounding: the MAXIM outputs move by under 3e-6 on the 0..1 scale). In the 256x256 denoiser's profile
 * (bench/maxim-profile.ts) Slice, Concat and Where were 8% of the kernel time, a Slice or Concat of 8 MB
 * taking twice an Add's time and Where 12x. The rewrites:
 * - a conv's bias Add (behind the NHWC Transpose) into the Conv, where MLAS adds it in its epilogue;
 * - jax's leaky ReLU, Where(x >= 0, x, a x), into LeakyRelu, which ORT then fuses into the Conv before it
 *   (and the NCHWc layout stays between the two 3x3 convs of each channel-attention block);
 * - a dense layer whose output (after its bias and GELU) is only cut into channel halves by Slices: the
 *   same ops per half, with that half of the weights; the gMLP blocks split every projection this way.
 *   (Not FastGelu's own bias input: ORT runs that one task per bias-length row, 20x slower at 32 channels.)
 * - a Concat over channels read only by a dense layer: sum of one MatMul per part (x W = a W_a + b W_b);
 * - the `+ 1` after a token-mixing dense layer into its bias;
 * - Transpose pairs into one Transpose, and Transposes that only move size-1 axes into Reshapes.
 */
function fuseLiveGraph(g: OnnxGraphBuilder, shapes: Map<string, number[]>, outputs: string[]): LiveCounts {
  const counts: LiveCounts = { convBias: 0, leakyRelu: 0, splitDense: 0, splitConcat: 0, foldedOne: 0, transposes: 0 }
  let producer = new Map<string, OnnxNode>()
  let readers = new Map<string, OnnxNode[]>()
  const index = () => {
    producer = new Map()
    readers = new Map()
    for (const node of g.nodes) {
      for (const o of node.output) producer.set(o, node)
      for (const i of node.input) (readers.get(i) ?? readers.set(i, []).get(i)!).push(node)
    }
  }
  /** The one node reading `tensor`, if exactly one does and it is not a graph output. */
  const onlyReader = (tensor: string) => {
    const r = readers.get(tensor)
    return r?.length === 1 && !outputs.includes(tensor) ? r[0]! : undefined
  }
  const floats = (name: string): Float32Array | null => {
    const t = g.initializer(name)
    if (!t || t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData) return null
    const raw = t.rawData
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
  }
  const ints = (name: string): number[] | null => {
    const t = g.initializer(name)
    if (!t || t.dataType !== onnx.TensorProto.DataType.INT64 || !t.rawData) return null
    const raw = t.rawData
    return Array.from(new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), Number)
  }
  /** A constant that broadcasts over the last axis only ([C], [1, 1, 1, C]...): its C values. */
  const channelConstant = (name: string, channels: number) => {
    const t = g.initializer(name)
    const v = floats(name)
    return t && v && v.length === channels && t.dims.slice(0, -1).every((d) => Number(d) === 1) ? v : null
  }
  const scalarOf = (name: string) => {
    const v = floats(name)
    return v?.length === 1 ? v[0]! : NaN
  }
  const attrOf = (node: OnnxNode, name: string) => node.attribute.find((a) => a.name === name)
  const make = (opType: string, input: string[], output: string, attributes: Record<string, AttributeValue> = {}, domain = '') =>
    onnx.NodeProto.create({ opType, domain, name: output, input, output: [output], attribute: toAttributes(attributes) })
  const drop = (node: OnnxNode) => g.nodes.splice(g.nodes.indexOf(node), 1)
  const replaceNode = (node: OnnxNode, nodes: OnnxNode[]) => g.nodes.splice(g.nodes.indexOf(node), 1, ...nodes)

  // Conv -> Transpose back to NHWC -> Add(bias): the bias into the Conv.
  index()
  for (const conv of [...g.nodes]) {
    if ((conv.opType !== 'Conv' && conv.opType !== 'ConvTranspose') || conv.input.length !== 2) continue
    const back = onlyReader(conv.output[0]!)
    const add = back?.opType === 'Transpose' ? onlyReader(back.output[0]!) : undefined
    if (!back || add?.opType !== 'Add') continue
    const weight = g.initializer(conv.input[1]!)
    const group = Number(attrOf(conv, 'group')?.i ?? 1)
    const channels = conv.opType === 'Conv' ? Number(weight!.dims[0]) : Number(weight!.dims[1]) * group
    const biasName = add.input[0] === back.output[0] ? add.input[1]! : add.input[0]!
    const bias = channelConstant(biasName, channels)
    if (!bias || shapes.get(add.output[0]!)?.join() !== shapes.get(back.output[0]!)?.join()) continue
    conv.input.push(g.addInitializer(`${conv.name}_bias`, [channels], bias))
    back.output[0] = add.output[0]!
    drop(add)
    counts.convBias++
  }

  // Where(x >= 0, x, a x) -> LeakyRelu(x, a).
  index()
  for (const where of [...g.nodes]) {
    if (where.opType !== 'Where') continue
    const [cond, x, scaled] = where.input as [string, string, string]
    const ge = producer.get(cond)
    const mul = producer.get(scaled)
    if (ge?.opType !== 'GreaterOrEqual' || ge.input[0] !== x || scalarOf(ge.input[1]!) !== 0 || mul?.opType !== 'Mul') continue
    const alphaName = mul.input[0] === x ? mul.input[1]! : mul.input[1] === x ? mul.input[0]! : ''
    const alpha = scalarOf(alphaName)
    // (an integral alpha would be written as an INT attribute)
    if (!Number.isFinite(alpha) || Number.isInteger(alpha) || shapes.get(where.output[0]!)?.join() !== shapes.get(x)?.join()) continue
    replaceNode(where, [make('LeakyRelu', [x], where.output[0]!, { alpha })])
    counts.leakyRelu++
  }
  g.removeUnused(outputs)

  // MatMul(x, W) -> [Add(bias)] -> [FastGelu] -> Slices of the channels only: the same ops per slice, on its share of W.
  index()
  for (const matmul of [...g.nodes]) {
    if (matmul.opType !== 'MatMul') continue
    const weight = floats(matmul.input[1]!)
    const wDims = g.initializer(matmul.input[1]!)?.dims.map(Number)
    if (!weight || wDims?.length !== 2) continue
    const [k, n] = wDims as [number, number]
    let last = matmul
    const add = onlyReader(matmul.output[0]!)
    const biasName = add?.opType === 'Add' ? (add.input[0] === matmul.output[0] ? add.input[1]! : add.input[0]!) : ''
    const bias = biasName ? channelConstant(biasName, n) : null
    const biasRank = biasName ? g.initializer(biasName)!.dims.length : 0
    if (bias && shapes.get(add!.output[0]!)?.join() === shapes.get(matmul.output[0]!)?.join()) last = add!
    const gelu = onlyReader(last.output[0]!)
    const withGelu = gelu?.opType === 'FastGelu' && gelu.input.length === 1
    if (withGelu) last = gelu
    const shape = shapes.get(last.output[0]!)
    const slices = readers.get(last.output[0]!) ?? []
    if (!shape || shape.at(-1) !== n || !slices.length || outputs.includes(last.output[0]!)) continue
    const ranges = slices.map((slice) => {
      if (slice.opType !== 'Slice' || slice.input[0] !== last.output[0]) return null
      const [starts, ends, axes, steps] = slice.input.slice(1).map((i) => ints(i))
      if (!starts || !ends) return null
      const axisList = (axes ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a))
      let range: [number, number] | null = [0, n]
      axisList.forEach((axis, i) => {
        const end = Math.min(ends[i]!, shape[axis]!)
        if ((steps && steps[i] !== 1) || starts[i]! < 0 || ends[i]! < 0) range = null
        else if (axis === shape.length - 1) range = range && [starts[i]!, end]
        else if (starts[i] !== 0 || end !== shape[axis]) range = null
      })
      return range && range[1] > range[0] ? range : null
    })
    if (ranges.some((r) => !r)) continue
    slices.forEach((slice, i) => {
      const [from, to] = ranges[i]!
      const width = to - from
      const part = new Float32Array(k * width)
      for (let r = 0; r < k; r++) part.set(weight.subarray(r * n + from, r * n + to), r * width)
      const out = slice.output[0]!
      const sliceShape = [...shape.slice(0, -1), width]
      const steps: { op: string; extra: string[]; domain?: string }[] = [{ op: 'MatMul', extra: [g.addInitializer(`${slice.name}_weight`, [k, width], part)] }]
      // (the bias keeps its rank: ORT's optimiser treats a [C] bias differently, e.g. no longer folds a conv's)
      if (last !== matmul && bias)
        steps.push({ op: 'Add', extra: [g.addInitializer(`${slice.name}_bias`, [...new Array<number>(biasRank - 1).fill(1), width], bias.slice(from, to))] })
      if (withGelu) steps.push({ op: 'FastGelu', extra: [], domain: MS_DOMAIN })
      let input = matmul.input[0]!
      const nodes = steps.map((step, j) => {
        const output = j === steps.length - 1 ? out : g.uniqueName(`${out}_${step.op.toLowerCase()}`)
        shapes.set(output, sliceShape)
        const node = make(step.op, [input, ...step.extra], output, {}, step.domain)
        input = output
        return node
      })
      replaceNode(slice, nodes)
    })
    counts.splitDense++
  }
  g.removeUnused(outputs)

  // Concat(a, b, ..., last axis) -> MatMul(W) => a W_a + b W_b + ...
  index()
  for (const concat of [...g.nodes]) {
    if (concat.opType !== 'Concat') continue
    const matmul = onlyReader(concat.output[0]!)
    const shape = shapes.get(concat.output[0]!)
    const axis = Number(attrOf(concat, 'axis')?.i ?? 0)
    if (matmul?.opType !== 'MatMul' || matmul.input[0] !== concat.output[0] || !shape || (axis !== -1 && axis !== shape.length - 1)) continue
    const weight = floats(matmul.input[1]!)
    const wDims = g.initializer(matmul.input[1]!)?.dims.map(Number)
    const widths = concat.input.map((i) => shapes.get(i)?.at(-1) ?? 0)
    if (!weight || wDims?.length !== 2 || widths.some((w) => !w) || widths.reduce((a, b) => a + b, 0) !== wDims[0]) continue
    const n = wDims[1]!
    const nodes: OnnxNode[] = []
    let sum = ''
    let row = 0
    concat.input.forEach((part, i) => {
      const w = g.addInitializer(`${matmul.name}_part${i}`, [widths[i]!, n], weight.slice(row * n, (row + widths[i]!) * n))
      row += widths[i]!
      const product = g.uniqueName(`${matmul.output[0]}_part${i}`)
      nodes.push(make('MatMul', [part, w], product))
      if (sum) {
        const total = i === concat.input.length - 1 ? matmul.output[0]! : g.uniqueName(`${matmul.output[0]}_sum${i}`)
        nodes.push(make('Add', [sum, product], total))
        sum = total
      } else sum = product
    })
    replaceNode(matmul, nodes)
    counts.splitConcat++
  }
  g.removeUnused(outputs)

  // MatMul(W^T, x) -> Add(column bias) -> Reshape -> Add(scalar): the scalar into the bias.
  index()
  for (const add of [...g.nodes]) {
    if (add.opType !== 'Add' || producer.get(add.input[0]!)?.opType !== 'MatMul') continue
    const colDims = g.initializer(add.input[1]!)?.dims.map(Number)
    const col = floats(add.input[1]!)
    const reshape = onlyReader(add.output[0]!)
    const plus = reshape?.opType === 'Reshape' ? onlyReader(reshape.output[0]!) : undefined
    if (!col || colDims?.length !== 2 || colDims[1] !== 1 || onlyReader(add.input[0]!) !== add || plus?.opType !== 'Add') continue
    const scalarName = plus.input[0] === reshape!.output[0] ? plus.input[1]! : plus.input[0]!
    const value = scalarOf(scalarName)
    if (!Number.isFinite(value) || g.initializer(scalarName)!.dims.length !== 0) continue
    add.input[1] = g.addInitializer(
      `${add.name}_plus`,
      colDims,
      col.map((v) => v + value),
    )
    reshape!.output[0] = plus.output[0]!
    drop(plus)
    counts.foldedOne++
  }

  // Transpose(Transpose(x)) -> one Transpose; one that only moves size-1 axes -> Reshape.
  index()
  const permOf = (t: OnnxNode) => attrOf(t, 'perm')!.ints!.map(Number)
  for (const t of [...g.nodes]) {
    if (t.opType !== 'Transpose') continue
    const inner = producer.get(t.input[0]!)
    if (inner?.opType === 'Transpose' && onlyReader(inner.output[0]!) === t) {
      const composed = permOf(t).map((i) => permOf(inner)[i]!)
      t.input[0] = inner.input[0]!
      t.attribute = toAttributes({ perm: composed })
      drop(inner)
      counts.transposes++
    }
    const perm = permOf(t)
    // The input's shape, or the output's put back (the converter records the shapes of TF tensors only).
    const outShape = shapes.get(t.output[0]!)
    const from = shapes.get(t.input[0]!) ?? (outShape && perm.reduce((s, axis, i) => ((s[axis] = outShape[i]!), s), new Array<number>(perm.length)))
    if (!from) continue
    const moved = perm.filter((axis) => from[axis] !== 1)
    if (moved.some((axis, i) => i > 0 && axis < moved[i - 1]!)) continue
    const to = perm.map((axis) => from[axis]!)
    replaceNode(t, [make('Reshape', [t.input[0]!, g.addTypedInitializer(`${t.name}_shape`, [to.length], BigInt64Array.from(to.map(BigInt)))], t.output[0]!)])
    counts.transposes++
  }
  return counts
}
