import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/** A small builder over the ONNX protobuf messages, so converters read as a list of ops. */
export type AttributeValue = number | number[] | string

export class OnnxGraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = []
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = []
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

  addNode(opType: string, inputs: string[], outputBase: string, attributes: Record<string, AttributeValue> = {}): string {
    const output = this.uniqueName(outputBase)
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: output,
        input: inputs,
        output: [output],
        attribute: Object.entries(attributes).map(([name, value]) => toAttribute(name, value)),
      }),
    )
    return output
  }

  /** Serialises the graph; `inputs`/`outputs` are float tensors with symbolic or fixed dims. */
  build(options: {
    graphName: string
    inputs: GraphValue[]
    outputs: GraphValue[]
    opset: number
    docString?: string
  }): Uint8Array {
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
      opsetImport: [{ domain: '', version: options.opset }],
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
