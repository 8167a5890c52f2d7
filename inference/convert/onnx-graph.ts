import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/** A small builder over the ONNX protobuf messages, so converters read as a list of ops. */
export type AttributeValue = number | number[] | string

export type OnnxNode = InstanceType<typeof onnx.NodeProto>
export type OnnxTensor = InstanceType<typeof onnx.TensorProto>

/** Contrib ops (com.microsoft) that ORT implements on every execution provider we use. */
export const MS_DOMAIN = 'com.microsoft'

export class OnnxGraphBuilder {
  /** In topological order; rewrite passes (onnx-fusions.ts) edit them in place. */
  nodes: OnnxNode[] = []
  private initializers: OnnxTensor[] = []
  private readonly names = new Set<string>()

  /** Returns a name not used yet, derived from `base`. */
  uniqueName(base: string): string {
    let name = base.replace(/[^A-Za-z0-9_./-]/g, '_')
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`
    this.names.add(name)
    return name
  }

  addInitializer(base: string, dims: number[], values: Float32Array | number[]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values)
    const expected = dims.reduce((a, b) => a * b, 1)
    if (data.length !== expected) throw new Error(`initializer ${base}: ${data.length} values for dims [${dims}]`)
    const name = this.uniqueName(base)
    this.initializerIndex = undefined
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    )
    return name
  }

  /**
   * An initializer of any element type; the graph converter needs int64 shapes and indices, bools and int32, and
   * quantized graphs int8 weights and uint8 zero points (a Uint8Array is bool unless `bytes` says 'uint8').
   */
  addTypedInitializer(
    base: string,
    dims: number[],
    values: Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array,
    bytes: 'bool' | 'uint8' = 'bool',
  ): string {
    const { DataType } = onnx.TensorProto
    const dataType =
      values instanceof Float32Array
        ? DataType.FLOAT
        : values instanceof BigInt64Array
          ? DataType.INT64
          : values instanceof Int32Array
            ? DataType.INT32
            : values instanceof Int8Array
              ? DataType.INT8
              : bytes === 'uint8'
                ? DataType.UINT8
                : DataType.BOOL
    const expected = dims.reduce((a, b) => a * b, 1)
    if (values.length !== expected) throw new Error(`initializer ${base}: ${values.length} values for dims [${dims}]`)
    const name = this.uniqueName(base)
    this.initializerIndex = undefined
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) }))
    return name
  }

  addNode(opType: string, inputs: string[], outputBase: string, attributes: Record<string, AttributeValue> = {}): string {
    const output = this.uniqueName(outputBase)
    this.nodes.push(onnx.NodeProto.create({ opType, name: output, input: inputs, output: [output], attribute: toAttributes(attributes) }))
    return output
  }

  /** The initializer of that name, if it is one. */
  initializer(name: string): OnnxTensor | undefined {
    return (this.initializerIndex ??= new Map(this.initializers.map((t) => [t.name!, t]))).get(name)
  }
  private initializerIndex?: Map<string, OnnxTensor>

  /** Drops nodes whose outputs nothing reads, then initializers no node reads (after a rewrite). */
  removeUnused(graphOutputs: string[]): void {
    const used = new Set(graphOutputs)
    const live: OnnxNode[] = []
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!
      if (!node.output.some((o) => used.has(o))) continue
      live.push(node)
      for (const input of node.input) used.add(input)
    }
    this.nodes = live.reverse()
    this.initializers = this.initializers.filter((t) => used.has(t.name!))
    this.initializerIndex = undefined
  }

  /** Serialises the graph; `inputs`/`outputs` are float tensors with symbolic or fixed dims. */
  build(options: { graphName: string; inputs: GraphValue[]; outputs: GraphValue[]; opset: number; docString?: string }): Uint8Array {
    const valueInfo = ({ name, dims, type }: GraphValue) =>
      onnx.ValueInfoProto.create({
        name,
        type: {
          tensorType: {
            elemType: type === 'uint8' ? onnx.TensorProto.DataType.UINT8 : onnx.TensorProto.DataType.FLOAT,
            shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
          },
        },
      })
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'restora-tfjs-converter',
      producerVersion: '1',
      docString: options.docString ?? '',
      opsetImport: [{ domain: '', version: options.opset }, ...(this.nodes.some((n) => n.domain === MS_DOMAIN) ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
      graph: onnx.GraphProto.create({
        name: options.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: options.inputs.map(valueInfo),
        output: options.outputs.map(valueInfo),
      }),
    })
    return onnx.ModelProto.encode(model).finish()
  }
}

export function toAttributes(attributes: Record<string, AttributeValue>) {
  return Object.entries(attributes).map(([name, value]) => toAttribute(name, value))
}

function toAttribute(name: string, value: AttributeValue) {
  const { AttributeType } = onnx.AttributeProto
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: new TextEncoder().encode(value) })
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: value })
  if (Number.isInteger(value)) return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value })
  return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value })
}

/** A graph input or output: float32 unless `type` says uint8 (exports that take image bytes, like MI-GAN's pipeline). */
export interface GraphValue {
  name: string
  dims: (number | string)[]
  type?: 'float32' | 'uint8'
}

/** A TF/Keras convolution kernel [kh, kw, in, out] as ONNX wants it, [out, in, kh, kw]. */
export function hwioToOihw(values: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(values.length)
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = values[((y * kw + x) * cin + i) * cout + o]!
  return out
}
