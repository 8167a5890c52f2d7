import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fuseGraph, type FusionCounts } from './onnx-fusions'
import { hwioToOihw, OnnxGraphBuilder } from './onnx-graph'
import { type ConstTensor, type DType, evaluateConst, numel, stridedSliceSpec, broadcastShapes } from './tf-const-eval'

/**
 * Converts a TF.js *graph* model (a frozen TensorFlow GraphDef + weight shards) to ONNX, op by op.
 *
 * The graph is specialised to one input shape: every tensor's shape is then known, so the
 * shape arithmetic such graphs carry (Shape -> StridedSlice -> Pack -> Reshape, index tables for
 * resizes, masks) is evaluated here once ("constant folding") and only the ops that touch image
 * data reach ONNX. The ONNX graph keeps TF's NHWC layout and wraps the few layout-sensitive ops
 * (Conv, ConvTranspose) in Transposes, which ORT's optimiser cancels where it can; the model's
 * input and output are NCHW like every model the shared runtime runs.
 */

interface TfAttr {
  i?: string
  f?: number
  b?: boolean
  s?: string
  type?: string
  list?: { i?: string[]; s?: string[] }
  shape?: unknown
  tensor?: unknown
}

interface TfNode {
  name: string
  op: string
  input?: string[]
  attr?: Record<string, TfAttr>
}

interface GraphModelJson {
  format?: string
  modelTopology: { node: TfNode[]; library?: { function?: unknown[] } }
  signature?: { inputs?: Record<string, { name: string }>; outputs?: Record<string, { name: string }> }
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[] }[]
}

export interface LoadedGraphModel {
  nodes: TfNode[]
  weights: Map<string, ConstTensor>
  inputName: string
  outputName: string
}

export async function loadGraphModel(modelJsonPath: string): Promise<LoadedGraphModel> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as GraphModelJson
  if (json.format !== 'graph-model' || !Array.isArray(json.modelTopology?.node))
    throw new Error(`${modelJsonPath} is not a TF.js graph model (format ${json.format})`)
  if (json.modelTopology.library?.function?.length) throw new Error(`${modelJsonPath}: graph functions (control flow) are not supported`)
  const weights = new Map<string, ConstTensor>()
  for (const group of json.weightsManifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dirname(modelJsonPath), p))))
    const buffer = Buffer.concat(shards)
    let offset = 0
    for (const spec of group.weights) {
      if (spec.quantization) throw new Error(`weight ${spec.name}: quantised weights are not supported`)
      const count = numel(spec.shape)
      // Copy: shard offsets need not be aligned for a typed-array view.
      const bytes = buffer.buffer.slice(buffer.byteOffset + offset, buffer.byteOffset + offset + count * 4)
      if (spec.dtype === 'float32') weights.set(spec.name, { dtype: 'float32', shape: spec.shape, data: new Float32Array(bytes) })
      else if (spec.dtype === 'int32') weights.set(spec.name, { dtype: 'int32', shape: spec.shape, data: new Int32Array(bytes) })
      else if (spec.dtype === 'bool') {
        weights.set(spec.name, {
          dtype: 'bool',
          shape: spec.shape,
          data: new Uint8Array(buffer.buffer.slice(buffer.byteOffset + offset, buffer.byteOffset + offset + count)),
        })
        offset += count
        continue
      } else throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not supported`)
      offset += count * 4
    }
    if (offset !== buffer.length) throw new Error(`weights of ${modelJsonPath}: manifest covers ${offset} bytes, shards hold ${buffer.length}`)
  }
  const nodes = json.modelTopology.node
  const inputs = nodes.filter((n) => n.op === 'Placeholder')
  const signatureOutputs = Object.values(json.signature?.outputs ?? {})
  if (inputs.length !== 1 || signatureOutputs.length !== 1) throw new Error('only single-input, single-output graph models are supported')
  return { nodes, weights, inputName: inputs[0]!.name, outputName: signatureOutputs[0]!.name.replace(/:0$/, '') }
}

/** A tensor as the converter tracks it: a value known now, or an ONNX tensor computed at run time. */
type Value = { kind: 'const'; tensor: ConstTensor } | { kind: 'dynamic'; name: string; shape: number[]; dtype: DType }

const ONNX_TYPE: Record<DType, number> = { float32: 1, int32: 6, bool: 9 }

const UNARY: Record<string, string> = {
  Tanh: 'Tanh',
  Abs: 'Abs',
  Neg: 'Neg',
  Exp: 'Exp',
  Floor: 'Floor',
  Sign: 'Sign',
  Reciprocal: 'Reciprocal',
  Identity: 'Identity',
  Sqrt: 'Sqrt',
  Relu: 'Relu',
  Sigmoid: 'Sigmoid',
  Erf: 'Erf',
}
const BINARY: Record<string, string> = {
  AddV2: 'Add',
  Add: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Maximum: 'Max',
  Minimum: 'Min',
  Pow: 'Pow',
  Greater: 'Greater',
  GreaterEqual: 'GreaterOrEqual',
  Less: 'Less',
  LessEqual: 'LessOrEqual',
  Equal: 'Equal',
  LogicalAnd: 'And',
  LogicalOr: 'Or',
}
const COMPARISONS = new Set(['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'])

export interface GraphConvertOptions {
  /** The NHWC shape the graph is specialised to, e.g. [1, 256, 256, 3]. */
  inputShape: number[]
  docString?: string
  /** Fuse LayerNorm, GELU and transposed dense layers (onnx-fusions.ts); off only to measure what fusing gains. */
  fuse?: boolean
}

export interface GraphConversionStats {
  tfNodes: number
  folded: number
  onnxNodes: number
  fused: FusionCounts | null
}

export function convertGraphModel(model: LoadedGraphModel, options: GraphConvertOptions): { bytes: Uint8Array; stats: GraphConversionStats } {
  const g = new OnnxGraphBuilder()
  const byName = new Map(model.nodes.map((n) => [n.name, n]))
  const values = new Map<string, Value>()
  const initializerOf = new Map<ConstTensor, string>()
  const node = (op: string, inputs: string[], base: string, attrs: Record<string, number | number[] | string> = {}) => g.addNode(op, inputs, base, attrs)
  const int64 = (base: string, values: number[], dims = [values.length]) => g.addTypedInitializer(base, dims, BigInt64Array.from(values.map(BigInt)))
  const constant = (t: ConstTensor, base: string) => {
    let name = initializerOf.get(t)
    if (!name) {
      name = g.addTypedInitializer(base, t.shape, t.data)
      initializerOf.set(t, name)
    }
    return name
  }
  const onnxInput = (v: Value, base: string) => (v.kind === 'const' ? constant(v.tensor, `${base}_const`) : v.name)
  const shapes = new Map<string, number[]>()
  const dynamic = (name: string, shape: number[], dtype: DType): Value => {
    shapes.set(name, shape)
    return { kind: 'dynamic', name, shape, dtype }
  }
  const shapeOf = (v: Value) => (v.kind === 'const' ? v.tensor.shape : v.shape)
  const dtypeOf = (v: Value) => (v.kind === 'const' ? v.tensor.dtype : v.dtype)

  // Input: NCHW from the runtime, NHWC inside.
  const [n0, h0, w0, c0] = options.inputShape as [number, number, number, number]
  values.set(model.inputName, dynamic(node('Transpose', ['input'], 'input_nhwc', { perm: [0, 2, 3, 1] }), [n0, h0, w0, c0], 'float32'))

  for (const tfNode of topologicalOrder(model.outputName, byName)) {
    if (tfNode.name === model.inputName) continue
    const inputs = (tfNode.input ?? [])
      .filter((i) => !i.startsWith('^'))
      .map((i) => {
        const [source, index] = i.split(':')
        if (index && index !== '0') throw new Error(`${tfNode.name}: multi-output ops are not supported (${i})`)
        const v = values.get(source!)
        if (!v) throw new Error(`${tfNode.name}: input ${source} has no value`)
        return v
      })
    const name = tfNode.name
    const attr = tfNode.attr ?? {}
    if (tfNode.op === 'Const') {
      const weight = model.weights.get(name)
      if (!weight) throw new Error(`constant ${name} is missing from the weights manifest`)
      values.set(name, { kind: 'const', tensor: weight })
      continue
    }
    if (tfNode.op === 'Shape') {
      values.set(name, { kind: 'const', tensor: { dtype: 'int32', shape: [shapeOf(inputs[0]!).length], data: Int32Array.from(shapeOf(inputs[0]!)) } })
      continue
    }
    if (inputs.every((v) => v.kind === 'const')) {
      values.set(name, {
        kind: 'const',
        tensor: evaluateConst(
          tfNode.op,
          inputs.map((v) => (v as { tensor: ConstTensor }).tensor),
          attr,
          name,
        ),
      })
      continue
    }
    values.set(name, emitDynamic(tfNode, inputs))
  }

  function constArg(v: Value | undefined, what: string, nodeName: string): ConstTensor {
    if (v?.kind !== 'const') throw new Error(`${nodeName}: ${what} must be known at conversion time`)
    return v.tensor
  }

  function emitDynamic(tfNode: TfNode, inputs: Value[]): Value {
    const { op, name } = tfNode
    const attr = tfNode.attr ?? {}
    const x = inputs[0]!
    const xs = shapeOf(x)
    const inName = (i: number) => onnxInput(inputs[i]!, `${name}_in${i}`)
    if (op in UNARY) return dynamic(node(UNARY[op]!, [inName(0)], name), xs, dtypeOf(x))
    if (op === 'Square') return dynamic(node('Mul', [inName(0), inName(0)], name), xs, dtypeOf(x))
    if (op === 'Rsqrt') return dynamic(node('Reciprocal', [node('Sqrt', [inName(0)], `${name}_sqrt`)], name), xs, dtypeOf(x))
    if (op in BINARY || op === 'NotEqual' || op === 'FloorDiv' || op === 'FloorMod') {
      const shape = broadcastShapes(xs, shapeOf(inputs[1]!))
      const dtype = COMPARISONS.has(op) ? 'bool' : dtypeOf(x)
      if (op === 'NotEqual') return dynamic(node('Not', [node('Equal', [inName(0), inName(1)], `${name}_eq`)], name), shape, dtype)
      if (op === 'FloorMod') {
        // ONNX Mod with fmod=0 is floor-mod (TF's semantics) for integers only.
        if (dtype === 'float32') throw new Error(`${name}: float FloorMod on run-time values is not supported`)
        return dynamic(node('Mod', [inName(0), inName(1)], name, { fmod: 0 }), shape, dtype)
      }
      if (op === 'FloorDiv') {
        if (dtype !== 'float32') throw new Error(`${name}: integer FloorDiv on run-time values is not supported`)
        return dynamic(node('Floor', [node('Div', [inName(0), inName(1)], `${name}_div`)], name), shape, dtype)
      }
      return dynamic(node(BINARY[op]!, [inName(0), inName(1)], name), shape, dtype)
    }
    switch (op) {
      case 'SelectV2': {
        const shape = broadcastShapes(broadcastShapes(xs, shapeOf(inputs[1]!)), shapeOf(inputs[2]!))
        return dynamic(node('Where', [inName(0), inName(1), inName(2)], name), shape, dtypeOf(inputs[1]!))
      }
      case 'Cast': {
        const to = tfDtype(attr.DstT?.type)
        return dynamic(node('Cast', [inName(0)], name, { to: ONNX_TYPE[to] }), xs, to)
      }
      case 'Reshape': {
        const requested = Array.from(constArg(inputs[1], 'the shape', name).data)
        const shape = resolveReshape(xs, requested, name)
        return dynamic(node('Reshape', [inName(0), int64(`${name}_shape`, shape)], name), shape, dtypeOf(x))
      }
      case 'ExpandDims': {
        let axis = Number(constArg(inputs[1], 'the axis', name).data[0])
        if (axis < 0) axis += xs.length + 1
        const shape = [...xs.slice(0, axis), 1, ...xs.slice(axis)]
        return dynamic(node('Reshape', [inName(0), int64(`${name}_shape`, shape)], name), shape, dtypeOf(x))
      }
      case 'Squeeze': {
        const dims = (attr.squeeze_dims?.list?.i ?? []).map(Number).map((d) => (d < 0 ? d + xs.length : d))
        const shape = xs.filter((d, i) => (dims.length ? !dims.includes(i) : d !== 1))
        return dynamic(node('Reshape', [inName(0), int64(`${name}_shape`, shape)], name), shape, dtypeOf(x))
      }
      case 'Transpose': {
        const perm = Array.from(constArg(inputs[1], 'the permutation', name).data)
        return dynamic(
          node('Transpose', [inName(0)], name, { perm }),
          perm.map((p) => xs[p]!),
          dtypeOf(x),
        )
      }
      case 'BroadcastTo': {
        const target = Array.from(constArg(inputs[1], 'the shape', name).data)
        const shape = broadcastShapes(xs, target)
        return dynamic(node('Expand', [inName(0), int64(`${name}_shape`, shape)], name), shape, dtypeOf(x))
      }
      case 'Pack': {
        let axis = Number(attr.axis?.i ?? 0)
        if (axis < 0) axis += xs.length + 1
        const axes = int64(`${name}_axes`, [axis])
        const parts = inputs.map((_v, i) => node('Unsqueeze', [inName(i), axes], `${name}_part${i}`))
        return dynamic(node('Concat', parts, name, { axis }), [...xs.slice(0, axis), inputs.length, ...xs.slice(axis)], dtypeOf(x))
      }
      case 'ConcatV2': {
        const parts = inputs.slice(0, -1)
        let axis = Number(constArg(inputs[inputs.length - 1], 'the axis', name).data[0])
        if (axis < 0) axis += xs.length
        const shape = [...xs]
        shape[axis] = parts.reduce((s, v) => s + shapeOf(v)[axis]!, 0)
        return dynamic(
          node(
            'Concat',
            parts.map((_, i) => inName(i)),
            name,
            { axis },
          ),
          shape,
          dtypeOf(x),
        )
      }
      case 'StridedSlice': {
        const spec = stridedSliceSpec(
          xs,
          constArg(inputs[1], 'begin', name),
          constArg(inputs[2], 'end', name),
          constArg(inputs[3], 'strides', name),
          attr,
          name,
        )
        const sliced = node(
          'Slice',
          [
            inName(0),
            int64(`${name}_starts`, spec.starts),
            int64(`${name}_ends`, spec.ends),
            int64(
              `${name}_axes`,
              spec.starts.map((_, i) => i),
            ),
            int64(`${name}_steps`, spec.steps),
          ],
          `${name}_slice`,
        )
        return dynamic(node('Reshape', [sliced, int64(`${name}_shape`, spec.outputShape)], name), spec.outputShape, dtypeOf(x))
      }
      case 'GatherV2': {
        const indices = constArg(inputs[1], 'the indices', name)
        let axis = Number(constArg(inputs[2], 'the axis', name).data[0])
        if (axis < 0) axis += xs.length
        if (Number(attr.batch_dims?.i ?? 0) !== 0) throw new Error(`${name}: GatherV2 with batch_dims is not supported`)
        const idx = g.addTypedInitializer(`${name}_indices`, indices.shape, BigInt64Array.from(Array.from(indices.data, (v) => BigInt(v))))
        return dynamic(node('Gather', [inName(0), idx], name, { axis }), [...xs.slice(0, axis), ...indices.shape, ...xs.slice(axis + 1)], dtypeOf(x))
      }
      case 'Sum':
      case 'Mean':
      case 'Max': {
        const axes = Array.from(constArg(inputs[1], 'the axes', name).data).map((a) => (a < 0 ? a + xs.length : a))
        const keep = attr.keep_dims?.b === true
        const shape = keep ? xs.map((d, i) => (axes.includes(i) ? 1 : d)) : xs.filter((_, i) => !axes.includes(i))
        const onnxOp = { Sum: 'ReduceSum', Mean: 'ReduceMean', Max: 'ReduceMax' }[op]
        // ReduceSum takes its axes as an input from opset 13; Mean/Max only from 18.
        const out =
          op === 'Sum'
            ? node(onnxOp, [inName(0), int64(`${name}_axes`, axes)], name, { keepdims: keep ? 1 : 0 })
            : node(onnxOp, [inName(0)], name, { axes, keepdims: keep ? 1 : 0 })
        return dynamic(out, shape, dtypeOf(x))
      }
      case 'Einsum':
        return emitEinsum(tfNode, inputs)
      case 'Conv2D':
        return emitConv(tfNode, inputs)
      case 'Conv2DBackpropInput':
        return emitConvTranspose(tfNode, inputs)
      default:
        throw new Error(`${name}: TF op ${op} is not supported by the graph converter`)
    }
  }

  /**
   * The einsums of dense layers ("...g,gf->...f" and permutations of it) become a MatMul with
   * the contracted axis moved last; MatMul is one of ORT's fastest kernels, Einsum is not.
   */
  function emitEinsum(tfNode: TfNode, inputs: Value[]): Value {
    const { name } = tfNode
    const equation = decodeString(tfNode.attr?.equation?.s)
    const match = /^([a-z]+),([a-z]+)->([a-z]*)$/.exec(equation)
    if (!match || inputs.length !== 2) throw new Error(`${name}: einsum '${equation}' is not supported`)
    const [, lhs, rhs, out] = match as unknown as [string, string, string, string]
    // Which operand is the 2-D weight matrix?
    const weightSide = inputs[1]!.kind === 'const' && rhs.length === 2 ? 1 : inputs[0]!.kind === 'const' && lhs.length === 2 ? 0 : -1
    const dataLetters = weightSide === 1 ? lhs : rhs
    const weightLetters = weightSide === 1 ? rhs : lhs
    const contracted = [...weightLetters].filter((l) => dataLetters.includes(l) && !out.includes(l))
    const free = [...weightLetters].filter((l) => !dataLetters.includes(l) && out.includes(l))
    if (
      weightSide < 0 ||
      contracted.length !== 1 ||
      free.length !== 1 ||
      [...dataLetters].some((l) => l !== contracted[0] && !out.includes(l)) ||
      new Set(dataLetters).size !== dataLetters.length
    ) {
      const shape = einsumShape(lhs, rhs, out, shapeOf(inputs[0]!), shapeOf(inputs[1]!))
      return dynamic(node('Einsum', [onnxInput(inputs[0]!, `${name}_a`), onnxInput(inputs[1]!, `${name}_b`)], name, { equation }), shape, 'float32')
    }
    const g0 = contracted[0]!
    const f = free[0]!
    const data = inputs[1 - weightSide]!
    const dataShape = shapeOf(data)
    // Weight as [g, f].
    let weight = (inputs[weightSide] as { tensor: ConstTensor }).tensor
    if (weightLetters[0] !== g0) weight = evaluateConst('Transpose', [weight, { dtype: 'int32', shape: [2], data: Int32Array.from([1, 0]) }], {}, name)
    const size = (l: string) => (l === f ? weight.shape[1]! : dataShape[dataLetters.indexOf(l)]!)
    const k = dataLetters.indexOf(g0)
    let result: string
    let resultLetters: string[]
    if (k === dataLetters.length - 1) {
      // Contracted axis last: data x W, as it is.
      result = node('MatMul', [onnxInput(data, `${name}_x`), constant(weight, `${name}_w`)], `${name}_matmul`)
      resultLetters = [...dataLetters.slice(0, -1), f]
    } else {
      // Contracted axis inside: W^T x over [before, g, after] needs no Transpose of the data.
      const before = [...dataLetters.slice(0, k)].reduce((a, l) => a * size(l), 1)
      const after = [...dataLetters.slice(k + 1)].reduce((a, l) => a * size(l), 1)
      const data3 = node('Reshape', [onnxInput(data, `${name}_x`), int64(`${name}_x_shape`, [before, size(g0), after])], `${name}_x3`)
      const transposed = evaluateConst('Transpose', [weight, { dtype: 'int32', shape: [2], data: Int32Array.from([1, 0]) }], {}, name)
      result = node('MatMul', [constant(transposed, `${name}_wt`), data3], `${name}_matmul`)
      resultLetters = [...dataLetters].map((l) => (l === g0 ? f : l))
      result = node('Reshape', [result, int64(`${name}_shape`, resultLetters.map(size))], `${name}_result`)
    }
    return dynamic(arrange(result, resultLetters, [...out], size, name), [...out].map(size), 'float32')
  }

  /** Reorders axes named by letters: nothing if already in order, a Reshape if only unit axes move, else a Transpose. */
  function arrange(tensor: string, from: string[], to: string[], size: (l: string) => number, name: string): string {
    if (from.join('') === to.join('')) return tensor
    const moved = (letters: string[]) => letters.filter((l) => size(l) !== 1).join('')
    if (moved(from) === moved(to)) return node('Reshape', [tensor, int64(`${name}_arranged`, to.map(size))], name)
    return node('Transpose', [tensor], name, { perm: to.map((l) => from.indexOf(l)) })
  }

  function emitConv(tfNode: TfNode, inputs: Value[]): Value {
    const { name } = tfNode
    const attr = tfNode.attr ?? {}
    if (decodeString(attr.data_format?.s) !== 'NHWC') throw new Error(`${name}: only NHWC convolutions are supported`)
    const filter = constArg(inputs[1], 'the filter', name)
    const [kh, kw, cin, cout] = filter.shape as [number, number, number, number]
    const [, inH, inW, inC] = shapeOf(inputs[0]!) as [number, number, number, number]
    const [, sh, sw] = (attr.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number) as [number, number, number]
    const [, dh, dw] = (attr.dilations?.list?.i ?? ['1', '1', '1', '1']).map(Number) as [number, number, number]
    const group = inC / cin
    const padAxis = (size: number, k: number, s: number, d: number) => convPadding(decodeString(attr.padding?.s), size, k, s, d, name)
    const [top, bottom, outH] = padAxis(inH, kh, sh, dh)
    const [left, right, outW] = padAxis(inW, kw, sw, dw)
    // A 1x1 convolution is a dense layer over the channels: in NHWC that is one MatMul, with no layout Transposes around it.
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && group === 1) {
      const dense = g.addTypedInitializer(`${name}_dense`, [cin, cout], filter.data as Float32Array)
      return dynamic(node('MatMul', [onnxInput(inputs[0]!, `${name}_x`), dense], name), [shapeOf(inputs[0]!)[0]!, inH, inW, cout], 'float32')
    }
    const weight = g.addTypedInitializer(`${name}_weight`, [cout, cin, kh, kw], hwioToOihw(filter.data as Float32Array, kh, kw, cin, cout))
    const nchw = node('Transpose', [onnxInput(inputs[0]!, `${name}_x`)], `${name}_nchw`, { perm: [0, 3, 1, 2] })
    const conv = node('Conv', [nchw, weight], `${name}_conv`, {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      dilations: [dh, dw],
      pads: [top, left, bottom, right],
      group,
    })
    return dynamic(node('Transpose', [conv], name, { perm: [0, 2, 3, 1] }), [shapeOf(inputs[0]!)[0]!, outH, outW, cout], 'float32')
  }

  /** TF's Conv2DBackpropInput is the gradient of a Conv2D, which is exactly ONNX ConvTranspose (no kernel flip). */
  function emitConvTranspose(tfNode: TfNode, inputs: Value[]): Value {
    const { name } = tfNode
    const attr = tfNode.attr ?? {}
    if (decodeString(attr.data_format?.s) !== 'NHWC') throw new Error(`${name}: only NHWC convolutions are supported`)
    const outputShape = Array.from(constArg(inputs[0], 'the output size', name).data) as [number, number, number, number]
    const filter = constArg(inputs[1], 'the filter', name)
    // Filter of the forward conv: [kh, kw, channels of the result, channels of the input here].
    const [kh, kw, cres, cin] = filter.shape as [number, number, number, number]
    const [, inH, inW] = shapeOf(inputs[2]!) as [number, number, number, number]
    const [, sh, sw] = (attr.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number) as [number, number, number]
    const [, dh, dw] = (attr.dilations?.list?.i ?? ['1', '1', '1', '1']).map(Number) as [number, number, number]
    const padding = decodeString(attr.padding?.s)
    const axis = (outSize: number, inSize: number, k: number, s: number, d: number) => {
      const [before, after, forwardOut] = convPadding(padding, outSize, k, s, d, name)
      if (forwardOut !== inSize) throw new Error(`${name}: output size ${outSize} does not match input ${inSize} at stride ${s}`)
      // ConvTranspose produces s*(in-1) + k_eff - pads; anything TF wants beyond that is output_padding.
      const produced = s * (inSize - 1) + (k - 1) * d + 1 - before - after
      if (outSize < produced) throw new Error(`${name}: output size ${outSize} is smaller than ConvTranspose produces (${produced})`)
      return { before, after, extra: outSize - produced }
    }
    const y = axis(outputShape[1], inH, kh, sh, dh)
    const x = axis(outputShape[2], inW, kw, sw, dw)
    // ONNX ConvTranspose weight: [in channels, out channels, kh, kw].
    const weight = new Float32Array(filter.data.length)
    const src = filter.data as Float32Array
    for (let a = 0; a < kh; a++)
      for (let b = 0; b < kw; b++)
        for (let r = 0; r < cres; r++) for (let i = 0; i < cin; i++) weight[((i * cres + r) * kh + a) * kw + b] = src[((a * kw + b) * cres + r) * cin + i]!
    const w = g.addTypedInitializer(`${name}_weight`, [cin, cres, kh, kw], weight)
    const nchw = node('Transpose', [onnxInput(inputs[2]!, `${name}_x`)], `${name}_nchw`, { perm: [0, 3, 1, 2] })
    const conv = node('ConvTranspose', [nchw, w], `${name}_convt`, {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      dilations: [dh, dw],
      pads: [y.before, x.before, y.after, x.after],
      output_padding: [y.extra, x.extra],
    })
    return dynamic(node('Transpose', [conv], name, { perm: [0, 2, 3, 1] }), outputShape, 'float32')
  }

  const output = values.get(model.outputName)
  if (output?.kind !== 'dynamic') throw new Error(`output ${model.outputName} does not depend on the input`)
  node('Transpose', [output.name], 'output', { perm: [0, 3, 1, 2] })
  const [, oh, ow, oc] = output.shape as [number, number, number, number]
  const folded = [...values.values()].filter((v) => v.kind === 'const').length
  const fused = options.fuse === false ? null : fuseGraph(g, shapes, ['output'])
  g.removeUnused(['output'])
  const bytes = g.build({
    graphName: 'tfjs_graph',
    opset: 17,
    inputs: [{ name: 'input', dims: [n0, c0, h0, w0] }],
    outputs: [{ name: 'output', dims: [output.shape[0]!, oc, oh, ow] }],
    docString: options.docString,
  })
  return { bytes, stats: { tfNodes: model.nodes.length, folded, onnxNodes: g.nodes.length, fused } }
}

/** Nodes the output depends on, each after its inputs (iterative: these graphs are deep). */
function topologicalOrder(outputName: string, byName: Map<string, TfNode>): TfNode[] {
  const order: TfNode[] = []
  const state = new Map<string, 1 | 2>()
  const stack: [string, boolean][] = [[outputName, false]]
  while (stack.length) {
    const [name, expanded] = stack.pop()!
    if (expanded) {
      state.set(name, 2)
      order.push(byName.get(name)!)
      continue
    }
    if (state.has(name)) continue
    const tfNode = byName.get(name)
    if (!tfNode) throw new Error(`the graph has no node ${name}`)
    state.set(name, 1)
    stack.push([name, true])
    for (const input of tfNode.input ?? []) {
      const source = input.replace(/^\^/, '').split(':')[0]!
      if (!state.has(source)) stack.push([source, false])
    }
  }
  return order
}

function tfDtype(type: string | undefined): DType {
  if (type === 'DT_FLOAT') return 'float32'
  if (type === 'DT_INT32') return 'int32'
  if (type === 'DT_BOOL') return 'bool'
  throw new Error(`dtype ${type} is not supported`)
}

function decodeString(s: string | undefined): string {
  return s ? Buffer.from(s, 'base64').toString('utf8') : ''
}

/** TF padding for one spatial axis: [before, after, output size]. */
function convPadding(padding: string, size: number, k: number, s: number, d: number, name: string): [number, number, number] {
  const kEff = (k - 1) * d + 1
  if (padding === 'VALID') return [0, 0, Math.floor((size - kEff) / s) + 1]
  if (padding === 'SAME') {
    const out = Math.ceil(size / s)
    const total = Math.max((out - 1) * s + kEff - size, 0)
    // TF puts the odd pixel at the bottom/right.
    return [Math.floor(total / 2), total - Math.floor(total / 2), out]
  }
  throw new Error(`${name}: padding ${padding} is not supported`)
}

function resolveReshape(from: number[], requested: number[], name: string): number[] {
  const total = numel(from)
  const known = requested.filter((d) => d >= 0).reduce((a, b) => a * b, 1)
  const shape = requested.map((d) => (d < 0 ? total / known : d))
  if (numel(shape) !== total) throw new Error(`${name}: cannot reshape [${from}] to [${requested}]`)
  return shape
}

function einsumShape(lhs: string, rhs: string, out: string, a: number[], b: number[]): number[] {
  const size = new Map<string, number>()
  ;[...lhs].forEach((l, i) => size.set(l, a[i]!))
  ;[...rhs].forEach((l, i) => size.set(l, Math.max(size.get(l) ?? 1, b[i]!)))
  return [...out].map((l) => size.get(l)!)
}
