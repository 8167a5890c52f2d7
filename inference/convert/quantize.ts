import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import onnxProto from 'onnx-proto'
import * as ort from 'onnxruntime-node'
import { sessionOptions } from '../runtime/sessions'

const { onnx } = onnxProto
type Model = InstanceType<typeof onnx.ModelProto>
type Node = InstanceType<typeof onnx.NodeProto>
type Tensor = InstanceType<typeof onnx.TensorProto>

/**
 * Static int8 quantization of a converted fp32 image model, in QDQ form (QuantizeLinear / DequantizeLinear pairs),
 * which ORT fuses into integer kernels (QLinearConv) on load:
 *
 * - weights: int8, symmetric, one scale per output channel; biases int32 at the input scale x the weight's scale;
 * - activations: uint8, one scale and zero point per tensor, from the range the fp32 model produced on calibration
 *   inputs (min/max: the image models here have no outliers that a percentile would need to cut);
 * - Q/DQ sit on each quantized Conv's input and on its output (after its ReLU when a ReLU is all that reads it, so the
 *   ReLU folds into the integer kernel's range); everything between stays float.
 *
 * Stays fp32 (the rule): the Convs that read the graph's input (the image itself; Real-ESRGAN general 36.9 -> 38.1 dB
 * int8 vs fp32 with its first Conv kept) and every Conv from which a graph output is reached without passing another
 * Conv (the last convolutions, whose rounding would show in every output pixel). The rest of the graph (Add, Concat,
 * Resize, DepthToSpace, LeakyRelu) is left to ORT, which runs it on the dequantized values or fuses it too.
 */

export interface CalibrationInput {
  data: Float32Array
  dims: number[]
}

export interface QuantizeReport {
  /** Conv nodes turned into int8, and left fp32 by the rule above (first and last). */
  quantized: number
  kept: number
  /** Activation tensors given a Q/DQ pair. */
  activations: number
}

function initializerMap(model: Model) {
  return new Map((model.graph!.initializer ?? []).map((t) => [t.name!, t as Tensor]))
}

function floats(tensor: Tensor): Float32Array {
  if (tensor.floatData?.length) return Float32Array.from(tensor.floatData)
  const raw = tensor.rawData!
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
}

function tensorOf(name: string, dims: number[], dataType: number, values: Float32Array | Int8Array | Uint8Array | Int32Array): Tensor {
  return onnx.TensorProto.create({ name, dims, dataType, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) })
}

/**
 * Symmetric int8 weights, one scale per output channel (the leading axis): scale = max |w| / 127. Full 8 bits: 7-bit
 * weights ("reduce range", against u8s8 saturation on CPUs without VNNI) were no closer on this CPU (bench/conv-peaks.ts).
 */
export function quantizePerChannel(w: Float32Array, outChannels: number): { q: Int8Array; scales: Float32Array } {
  const per = w.length / outChannels
  const scales = new Float32Array(outChannels)
  const q = new Int8Array(w.length)
  for (let o = 0; o < outChannels; o++) {
    let largest = 0
    for (let i = 0; i < per; i++) largest = Math.max(largest, Math.abs(w[o * per + i]!))
    scales[o] = largest / 127 || 1
    for (let i = 0; i < per; i++) q[o * per + i] = Math.round(w[o * per + i]! / scales[o]!)
  }
  return { q, scales }
}

/** Convs from which a graph output is reached through non-Conv nodes only: they stay fp32. */
function finalConvs(nodes: Node[], outputs: string[]): Set<Node> {
  const producer = new Map<string, Node>()
  for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node)
  const final = new Set<Node>()
  const seen = new Set<string>()
  const stack = [...outputs]
  while (stack.length) {
    const name = stack.pop()!
    if (seen.has(name)) continue
    seen.add(name)
    const node = producer.get(name)
    if (!node) continue
    if (node.opType === 'Conv') final.add(node)
    else stack.push(...(node.input ?? []))
  }
  return final
}

/** Per quantized Conv: the tensor read (its activation input) and the tensor after it where its output is quantized. */
function quantizationPoints(nodes: Node[], convs: Node[]) {
  const consumers = new Map<string, Node[]>()
  for (const node of nodes) for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node])
  const points = new Set<string>()
  for (const conv of convs) {
    points.add(conv.input![0]!)
    const out = conv.output![0]!
    const readers = consumers.get(out) ?? []
    const relu = readers.length === 1 && readers[0]!.opType === 'Relu' ? readers[0]! : null
    points.add(relu ? relu.output![0]! : out)
  }
  return points
}

/** Each tensor's [min, max] over the calibration inputs (0 always inside, so zero is exact). */
async function calibrate(model: Model, tensors: string[], inputs: CalibrationInput[]): Promise<Map<string, [number, number]>> {
  const probe = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish())
  const existing = new Set((probe.graph!.output ?? []).map((o) => o.name))
  for (const name of tensors)
    if (!existing.has(name))
      probe.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }))
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(probe).finish(), { graphOptimizationLevel: 'basic', logSeverityLevel: 3 })
  const ranges = new Map<string, [number, number]>(tensors.map((t) => [t, [0, 0]]))
  try {
    for (const input of inputs) {
      const results = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.dims) }, tensors)
      for (const name of tensors) {
        const data = results[name]!.data as Float32Array
        const range = ranges.get(name)!
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!
          if (v < range[0]) range[0] = v
          else if (v > range[1]) range[1] = v
        }
        results[name]!.dispose()
      }
    }
  } finally {
    await session.release()
  }
  return ranges
}

/** Returns the QDQ model (ONNX bytes) and what was quantized. */
export async function quantizeModel(fp32: Uint8Array, calibration: CalibrationInput[]): Promise<{ model: Uint8Array; report: QuantizeReport }> {
  if (!calibration.length) throw new Error('quantizeModel: no calibration inputs')
  const model = onnx.ModelProto.decode(fp32)
  const graph = model.graph!
  const nodes = (graph.node ?? []) as Node[]
  const initializers = initializerMap(model)
  const final = finalConvs(
    nodes,
    (graph.output ?? []).map((o) => o.name!),
  )
  const inputs = new Set((graph.input ?? []).map((i) => i.name!))
  const first = new Set(nodes.filter((n) => n.opType === 'Conv' && inputs.has(n.input![0]!)))
  const convs = nodes.filter(
    (n) =>
      n.opType === 'Conv' && !final.has(n) && !first.has(n) && initializers.has(n.input![1]!) && (n.input![2] === undefined || initializers.has(n.input![2]!)),
  )
  const points = quantizationPoints(nodes, convs)
  const ranges = await calibrate(model, [...points], calibration)

  const { DataType } = onnx.TensorProto
  const added: Tensor[] = []
  const activation = new Map<string, { scale: number; scaleName: string; zeroName: string; dq: string }>()
  for (const [name, [min, max]] of ranges) {
    const scale = (max - min) / 255 || 1 / 255
    const zero = Math.min(255, Math.max(0, Math.round(-min / scale)))
    const scaleName = `${name}__scale`
    const zeroName = `${name}__zero`
    added.push(tensorOf(scaleName, [], DataType.FLOAT, Float32Array.of(scale)), tensorOf(zeroName, [], DataType.UINT8, Uint8Array.of(zero)))
    activation.set(name, { scale, scaleName, zeroName, dq: `${name}__dq` })
  }

  // Weight and bias DQs per quantized Conv, emitted just before it.
  const before = new Map<Node, Node[]>()
  for (const conv of convs) {
    const input = activation.get(conv.input![0]!)!
    const weight = initializers.get(conv.input![1]!)!
    const dims = (weight.dims ?? []).map(Number)
    const outChannels = dims[0]!
    const { q, scales } = quantizePerChannel(floats(weight), outChannels)
    const base = conv.output![0]!
    // A constant per output channel (weights int8, bias int32 at the input's scale x the weight's), dequantized along axis 0.
    const perChannel = (part: 'w' | 'b', values: Int8Array | Int32Array, partDims: number[], partScales: Float32Array) => {
      const type = values instanceof Int8Array ? DataType.INT8 : DataType.INT32
      const zeros = values instanceof Int8Array ? new Int8Array(outChannels) : new Int32Array(outChannels)
      const [q, scale, zero, dq] = ['q', 'scale', 'zero', 'dq'].map((suffix) => `${base}__${part}_${suffix}`) as [string, string, string, string]
      added.push(tensorOf(q, partDims, type, values), tensorOf(scale, [outChannels], DataType.FLOAT, partScales), tensorOf(zero, [outChannels], type, zeros))
      const axis = onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 })
      return { dq, node: onnx.NodeProto.create({ opType: 'DequantizeLinear', name: dq, input: [q, scale, zero], output: [dq], attribute: [axis] }) }
    }
    const weightDq = perChannel('w', q, dims, scales)
    conv.input![1] = weightDq.dq
    const dqs = [weightDq.node]
    const biasName = conv.input![2]
    if (biasName) {
      const bias = floats(initializers.get(biasName)!)
      const biasScales = Float32Array.from(scales, (s) => s * input.scale)
      const biasDq = perChannel(
        'b',
        Int32Array.from(bias, (b, o) => Math.round(b / biasScales[o]!)),
        [outChannels],
        biasScales,
      )
      conv.input![2] = biasDq.dq
      dqs.push(biasDq.node)
    }
    before.set(conv, dqs)
  }

  // Every reader of a quantized tensor reads its dequantized copy; the pair goes right after the tensor is made.
  for (const node of nodes) node.input = (node.input ?? []).map((name) => activation.get(name)?.dq ?? name)
  const pairOf = (name: string) => {
    const a = activation.get(name)!
    return [
      onnx.NodeProto.create({ opType: 'QuantizeLinear', name: `${name}__q`, input: [name, a.scaleName, a.zeroName], output: [`${name}__q`] }),
      onnx.NodeProto.create({ opType: 'DequantizeLinear', name: a.dq, input: [`${name}__q`, a.scaleName, a.zeroName], output: [a.dq] }),
    ]
  }
  const ordered: Node[] = []
  for (const input of graph.input ?? []) if (activation.has(input.name!)) ordered.push(...pairOf(input.name!))
  for (const node of nodes) {
    ordered.push(...(before.get(node) ?? []), node)
    for (const output of node.output ?? []) if (activation.has(output)) ordered.push(...pairOf(output))
  }
  // A graph output that got a pair is still read as float by the caller: the output keeps its name.
  for (const output of graph.output ?? []) if (activation.has(output.name!)) throw new Error(`quantizeModel: graph output ${output.name} would be quantized`)

  // The fp32 weights of the quantized Convs are no longer read.
  const used = new Set(ordered.flatMap((n) => n.input ?? []))
  graph.initializer = [...(graph.initializer ?? []).filter((t) => used.has(t.name!)), ...added]
  graph.node = ordered
  return {
    model: onnx.ModelProto.encode(model).finish(),
    report: { quantized: convs.length, kept: nodes.filter((n) => n.opType === 'Conv').length - convs.length, activations: activation.size },
  }
}

/**
 * The op types of the graph ORT actually runs (its optimized graph, saved and read back), counted: how a quantized model
 * is checked to have fused (QLinearConv where the QDQ Convs were), not assumed to.
 */
export async function optimizedOpCounts(model: Uint8Array): Promise<Map<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'restora-optimized-'))
  const file = join(dir, 'optimized.onnx')
  try {
    // Errors only: ORT warns that a saved optimized graph is this machine's, and about the scales the fusion used up.
    const session = await ort.InferenceSession.create(model, { ...sessionOptions(), optimizedModelFilePath: file, logSeverityLevel: 3 })
    await session.release()
    const counts = new Map<string, number>()
    for (const node of onnx.ModelProto.decode(await readFile(file)).graph?.node ?? []) counts.set(node.opType!, (counts.get(node.opType!) ?? 0) + 1)
    return counts
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
