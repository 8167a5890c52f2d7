/**
 * Evaluates TF ops on tensors known at conversion time (constant folding for the graph
 * converter). Mostly shape arithmetic and index tables, plus weight preprocessing (transposed
 * or rescaled kernels), so plain loops over typed arrays are enough. Float results are rounded
 * to float32 after every op, as TF computes them.
 */

export type DType = 'float32' | 'int32' | 'bool'

export interface ConstTensor {
  dtype: DType
  shape: number[]
  data: Float32Array | Int32Array | Uint8Array
}

interface Attr {
  i?: string
  b?: boolean
  type?: string
  list?: { i?: string[] }
}

export const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1)

function make(dtype: DType, shape: number[], values: ArrayLike<number> | number): ConstTensor {
  const n = numel(shape)
  const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n)
  if (typeof values === 'number') data.fill(values)
  else data.set(values)
  return { dtype, shape, data }
}

const strides = (shape: number[]) => {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i]!
  }
  return s
}

export function broadcastShapes(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length)
  const out: number[] = []
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1
    const y = b[b.length - rank + i] ?? 1
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`)
    out.push(x === 1 ? y : x)
  }
  return out
}

/** For each flat index of `outShape`, the flat index into a tensor of `shape` broadcast to it. */
function broadcastIndex(shape: number[], outShape: number[]): (flat: number) => number {
  const rank = outShape.length
  const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape]
  if (padded.every((d, i) => d === outShape[i])) return (flat) => flat
  if (numel(shape) === 1) return () => 0
  const inStrides = strides(padded)
  const outStrides = strides(outShape)
  return (flat) => {
    let index = 0
    for (let d = 0; d < rank; d++) {
      const coord = Math.floor(flat / outStrides[d]!) % outShape[d]!
      if (padded[d] !== 1) index += coord * inStrides[d]!
    }
    return index
  }
}

function elementwise(inputs: ConstTensor[], dtype: DType, f: (...v: number[]) => number): ConstTensor {
  const shape = inputs.map((t) => t.shape).reduce(broadcastShapes)
  const out = make(dtype, shape, 0)
  const index = inputs.map((t) => broadcastIndex(t.shape, shape))
  const args = new Array<number>(inputs.length)
  for (let i = 0; i < out.data.length; i++) {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k]!.data[index[k]!(i)]!
    out.data[i] = f(...args)
  }
  return out
}

const floorDiv = (a: number, b: number) => Math.floor(a / b)
const floorMod = (a: number, b: number) => a - Math.floor(a / b) * b

const BINARY: Record<string, (a: number, b: number) => number> = {
  AddV2: (a, b) => a + b,
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  RealDiv: (a, b) => a / b,
  Maximum: (a, b) => Math.max(a, b),
  Minimum: (a, b) => Math.min(a, b),
  Pow: (a, b) => a ** b,
  FloorDiv: floorDiv,
  FloorMod: floorMod,
}
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  Greater: (a, b) => a > b,
  GreaterEqual: (a, b) => a >= b,
  Less: (a, b) => a < b,
  LessEqual: (a, b) => a <= b,
  Equal: (a, b) => a === b,
  NotEqual: (a, b) => a !== b,
  LogicalAnd: (a, b) => a !== 0 && b !== 0,
  LogicalOr: (a, b) => a !== 0 || b !== 0,
}
const UNARY: Record<string, (a: number) => number> = {
  Neg: (a) => -a,
  Abs: Math.abs,
  Exp: Math.exp,
  Floor: Math.floor,
  Sign: Math.sign,
  Tanh: Math.tanh,
  Square: (a) => a * a,
  Sqrt: Math.sqrt,
  Rsqrt: (a) => 1 / Math.sqrt(a),
  Reciprocal: (a) => 1 / a,
  Identity: (a) => a,
  Relu: (a) => Math.max(0, a),
}

function transpose(t: ConstTensor, perm: number[]): ConstTensor {
  const shape = perm.map((p) => t.shape[p]!)
  const out = make(t.dtype, shape, 0)
  const inStrides = strides(t.shape)
  const permStrides = perm.map((p) => inStrides[p]!)
  const rank = shape.length
  const coord = new Array<number>(rank).fill(0)
  let src = 0
  for (let i = 0; i < out.data.length; i++) {
    out.data[i] = t.data[src]!
    // Odometer increment over the output coordinates.
    for (let d = rank - 1; d >= 0; d--) {
      coord[d]!++
      src += permStrides[d]!
      if (coord[d]! < shape[d]!) break
      src -= coord[d]! * permStrides[d]!
      coord[d] = 0
    }
  }
  return out
}

/** Resolved begin/end/step per input axis and the output shape of a TF StridedSlice. */
export function stridedSliceSpec(shape: number[], beginT: ConstTensor, endT: ConstTensor, stridesT: ConstTensor, attr: Record<string, Attr>, name: string) {
  const mask = (key: string) => Number(attr[key]?.i ?? 0)
  const [beginMask, endMask, ellipsisMask, newAxisMask, shrinkMask] = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map(
    mask,
  ) as [number, number, number, number, number]
  if (newAxisMask !== 0) throw new Error(`${name}: StridedSlice new_axis_mask is not supported`)
  const specs = beginT.data.length
  const starts: number[] = []
  const ends: number[] = []
  const steps: number[] = []
  const outputShape: number[] = []
  let axis = 0
  for (let s = 0; s < specs; s++) {
    if (ellipsisMask & (1 << s)) {
      const covered = shape.length - (specs - 1 - s) - axis
      for (let k = 0; k < covered; k++, axis++) {
        starts.push(0)
        ends.push(shape[axis]!)
        steps.push(1)
        outputShape.push(shape[axis]!)
      }
      continue
    }
    const dim = shape[axis]!
    const step = Number(stridesT.data[s])
    let begin = Number(beginT.data[s])
    let end = Number(endT.data[s])
    if (shrinkMask & (1 << s)) {
      if (begin < 0) begin += dim
      starts.push(begin)
      ends.push(begin + 1)
      steps.push(1)
      axis++
      continue
    }
    const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi)
    if (step > 0) {
      begin = beginMask & (1 << s) ? 0 : clampTo(begin < 0 ? begin + dim : begin, 0, dim)
      end = endMask & (1 << s) ? dim : clampTo(end < 0 ? end + dim : end, 0, dim)
      outputShape.push(Math.max(0, Math.ceil((end - begin) / step)))
    } else {
      begin = beginMask & (1 << s) ? dim - 1 : clampTo(begin < 0 ? begin + dim : begin, -1, dim - 1)
      end = endMask & (1 << s) ? -1 : clampTo(end < 0 ? end + dim : end, -1, dim - 1)
      outputShape.push(Math.max(0, Math.ceil((end - begin) / step)))
      // ONNX Slice reads a negative end as counting from the back; "before the first" must be very negative.
      if (end === -1) end = -dim - 1
    }
    starts.push(begin)
    ends.push(end)
    steps.push(step)
    axis++
  }
  for (; axis < shape.length; axis++) {
    starts.push(0)
    ends.push(shape[axis]!)
    steps.push(1)
    outputShape.push(shape[axis]!)
  }
  return { starts, ends, steps, outputShape }
}

function slice(t: ConstTensor, starts: number[], ends: number[], steps: number[]): ConstTensor {
  const dims = starts.map((s, i) => Math.max(0, Math.ceil((Math.max(ends[i]!, -1) - s) / steps[i]!)))
  const out = make(t.dtype, dims, 0)
  const inStrides = strides(t.shape)
  const outStrides = strides(dims)
  for (let i = 0; i < out.data.length; i++) {
    let src = 0
    for (let d = 0; d < dims.length; d++) src += (starts[d]! + (Math.floor(i / outStrides[d]!) % dims[d]!) * steps[d]!) * inStrides[d]!
    out.data[i] = t.data[src]!
  }
  return out
}

const ints = (t: ConstTensor) => Array.from(t.data, Number)
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis)

export function evaluateConst(op: string, inputs: ConstTensor[], attr: Record<string, Attr>, name: string): ConstTensor {
  const [x] = inputs as [ConstTensor]
  const fround = x?.dtype === 'float32' ? Math.fround : (v: number) => v
  if (op in BINARY) {
    const f = BINARY[op]!
    const dtype = x.dtype
    // Integer division in TF rounds toward -inf for FloorDiv and toward zero for RealDiv on ints (unused).
    return elementwise(inputs, dtype, dtype === 'float32' ? (a, b) => Math.fround(f(a, b)) : (a, b) => Math.trunc(f(a, b)))
  }
  if (op in COMPARE) return elementwise(inputs, 'bool', (a, b) => (COMPARE[op]!(a, b) ? 1 : 0))
  if (op in UNARY) return elementwise([x], x.dtype, (a) => fround(UNARY[op]!(a)))
  switch (op) {
    case 'SelectV2':
      return elementwise(inputs, inputs[1]!.dtype, (c, a, b) => (c ? a : b))
    case 'Cast': {
      const to = attr.DstT?.type === 'DT_FLOAT' ? 'float32' : attr.DstT?.type === 'DT_INT32' ? 'int32' : attr.DstT?.type === 'DT_BOOL' ? 'bool' : null
      if (!to) throw new Error(`${name}: Cast to ${attr.DstT?.type} is not supported`)
      return elementwise([x], to, to === 'int32' ? Math.trunc : to === 'bool' ? (a) => (a !== 0 ? 1 : 0) : Math.fround)
    }
    case 'Reshape': {
      const requested = ints(inputs[1]!)
      const total = numel(x.shape)
      const known = requested.filter((d) => d >= 0).reduce((a, b) => a * b, 1)
      return { ...x, shape: requested.map((d) => (d < 0 ? total / known : d)) }
    }
    case 'ExpandDims': {
      const axis = normAxis(ints(inputs[1]!)[0]!, x.shape.length + 1)
      return { ...x, shape: [...x.shape.slice(0, axis), 1, ...x.shape.slice(axis)] }
    }
    case 'Squeeze': {
      const dims = (attr.squeeze_dims?.list?.i ?? []).map(Number).map((d) => normAxis(d, x.shape.length))
      return { ...x, shape: x.shape.filter((d, i) => (dims.length ? !dims.includes(i) : d !== 1)) }
    }
    case 'Transpose':
      return transpose(x, ints(inputs[1]!))
    case 'Pack': {
      const axis = normAxis(Number(attr.axis?.i ?? 0), x.shape.length + 1)
      const expanded = inputs.map((t) => ({ ...t, shape: [...t.shape.slice(0, axis), 1, ...t.shape.slice(axis)] }))
      return concat(expanded, axis)
    }
    case 'ConcatV2': {
      const parts = inputs.slice(0, -1)
      return concat(parts, normAxis(ints(inputs[inputs.length - 1]!)[0]!, parts[0]!.shape.length))
    }
    case 'StridedSlice': {
      const spec = stridedSliceSpec(x.shape, inputs[1]!, inputs[2]!, inputs[3]!, attr, name)
      return { ...slice(x, spec.starts, spec.ends, spec.steps), shape: spec.outputShape }
    }
    case 'Range': {
      const [start, limit, delta] = inputs.map((t) => Number(t.data[0])) as [number, number, number]
      const count = Math.max(0, Math.ceil((limit - start) / delta))
      return make(
        x.dtype,
        [count],
        Array.from({ length: count }, (_, i) => start + i * delta),
      )
    }
    case 'BroadcastTo': {
      const shape = broadcastShapes(x.shape, ints(inputs[1]!))
      return elementwise([x, make(x.dtype, shape, 0)], x.dtype, (a) => a)
    }
    case 'GatherV2': {
      const indices = inputs[1]!
      const axis = normAxis(ints(inputs[2]!)[0]!, x.shape.length)
      const outer = numel(x.shape.slice(0, axis))
      const inner = numel(x.shape.slice(axis + 1))
      const out = make(x.dtype, [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], 0)
      let k = 0
      for (let o = 0; o < outer; o++)
        for (const index of indices.data) for (let i = 0; i < inner; i++) out.data[k++] = x.data[(o * x.shape[axis]! + index) * inner + i]!
      return out
    }
    case 'Sum':
    case 'Prod':
    case 'Max':
    case 'Min': {
      const axes = ints(inputs[1]!).map((a) => normAxis(a, x.shape.length))
      const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      const init = { Sum: 0, Prod: 1, Max: -Infinity, Min: Infinity }[op]
      const combine = { Sum: (a: number, b: number) => a + b, Prod: (a: number, b: number) => a * b, Max: Math.max, Min: Math.min }[op]
      const out = make(x.dtype, keptShape, init)
      const index = broadcastIndex(keptShape, x.shape)
      for (let i = 0; i < x.data.length; i++) {
        const j = index(i)
        out.data[j] = fround(combine(out.data[j]!, x.data[i]!))
      }
      const keep = attr.keep_dims?.b === true
      return keep ? out : { ...out, shape: x.shape.filter((_, i) => !axes.includes(i)) }
    }
    default:
      throw new Error(`${name}: TF op ${op} on constants is not supported by the graph converter`)
  }
}

function concat(parts: ConstTensor[], axis: number): ConstTensor {
  const first = parts[0]!
  const shape = [...first.shape]
  shape[axis] = parts.reduce((s, t) => s + t.shape[axis]!, 0)
  const out = make(first.dtype, shape, 0)
  const outer = numel(shape.slice(0, axis))
  let k = 0
  for (let o = 0; o < outer; o++)
    for (const t of parts) {
      const chunk = numel(t.shape.slice(axis))
      out.data.set(t.data.subarray(o * chunk, (o + 1) * chunk), k)
      k += chunk
    }
  return out
}
