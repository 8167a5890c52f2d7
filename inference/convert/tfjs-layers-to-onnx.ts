import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { hwioToOihw, OnnxGraphBuilder } from './onnx-graph'

/**
 * Converts a TF.js *layers* model (Keras functional topology + binary weight shards) to ONNX.
 * The Keras graph is channels-last (NHWC); the ONNX graph is NCHW, which is what ONNX Conv
 * expects, so every axis and kernel is remapped here once instead of inserting Transposes.
 */

interface KerasLayer {
  class_name: string
  name: string
  config: Record<string, any>
  inbound_nodes: [string, number, number, Record<string, unknown>][][]
}

interface LayersModelJson {
  format?: string
  modelTopology: {
    model_config: { class_name: string; config: { layers: KerasLayer[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] } }
  }
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[] }[]
}

export interface LoadedLayersModel {
  json: LayersModelJson
  weights: Map<string, { shape: number[]; values: Float32Array }>
}

export async function loadLayersModel(modelJsonPath: string): Promise<LoadedLayersModel> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as LayersModelJson
  if (!json.modelTopology?.model_config) throw new Error(`${modelJsonPath} is not a TF.js layers model (no modelTopology.model_config)`)
  const weights = new Map<string, { shape: number[]; values: Float32Array }>()
  for (const group of json.weightsManifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dirname(modelJsonPath), p))))
    const buffer = Buffer.concat(shards)
    let offset = 0
    for (const spec of group.weights) {
      if (spec.dtype !== 'float32' || spec.quantization)
        throw new Error(`weight ${spec.name}: only unquantised float32 weights are supported (got ${spec.dtype})`)
      const count = spec.shape.reduce((a, b) => a * b, 1)
      // Copy: shard offsets need not be 4-byte aligned for a Float32Array view.
      const values = new Float32Array(buffer.buffer.slice(buffer.byteOffset + offset, buffer.byteOffset + offset + count * 4))
      weights.set(spec.name, { shape: spec.shape, values })
      offset += count * 4
    }
    if (offset !== buffer.length) throw new Error(`weights of ${modelJsonPath}: manifest covers ${offset} bytes, shards hold ${buffer.length}`)
  }
  return { json, weights }
}

/** NHWC axis -> NCHW axis. */
const NCHW_AXIS: Record<number, number> = { 0: 0, 1: 2, 2: 3, 3: 1, [-1]: 1 }

const ACTIVATIONS: Record<string, string | null> = { linear: null, relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh' }

export interface ConvertOptions {
  /** Names of the ONNX graph's input and output. */
  inputName?: string
  outputName?: string
  docString?: string
}

export function convertLayersModel(model: LoadedLayersModel, options: ConvertOptions = {}): Uint8Array {
  const { config } = model.json.modelTopology.model_config
  const g = new OnnxGraphBuilder()
  const tensorOf = new Map<string, string>() // Keras layer name -> ONNX tensor name
  const inputName = options.inputName ?? 'input'
  const outputName = options.outputName ?? 'output'
  if (config.input_layers.length !== 1 || config.output_layers.length !== 1) throw new Error('only single-input, single-output models are supported')

  const weight = (layer: string, kind: string) => {
    const found = model.weights.get(`${layer}/${kind}`) ?? [...model.weights].find(([name]) => name.endsWith(`/${layer}/${kind}`))?.[1]
    if (!found) throw new Error(`weight ${layer}/${kind} is missing from the weights manifest`)
    return found
  }

  const activation = (name: string | undefined, input: string, base: string) => {
    const key = name ?? 'linear'
    if (!(key in ACTIVATIONS)) throw new Error(`activation '${key}' is not supported`)
    const op = ACTIVATIONS[key]
    return op ? g.addNode(op, [input], base) : input
  }

  for (const layer of config.layers) {
    const inbound = layer.inbound_nodes[0] ?? []
    const inputs = inbound.map(([source, nodeIndex, tensorIndex]) => {
      if (nodeIndex !== 0 || tensorIndex !== 0) throw new Error(`layer ${layer.name}: shared layers are not supported`)
      const t = tensorOf.get(source)
      if (!t) throw new Error(`layer ${layer.name}: input ${source} is not defined before it`)
      return t
    })
    if (layer.inbound_nodes.length > 1) throw new Error(`layer ${layer.name}: layers called more than once are not supported`)
    const c = layer.config
    let out: string
    switch (layer.class_name) {
      case 'InputLayer':
        g.uniqueName(inputName)
        out = inputName
        break
      case 'Conv2D': {
        if (c.data_format !== 'channels_last') throw new Error(`${layer.name}: data_format ${c.data_format}`)
        const kernel = weight(layer.name, 'kernel')
        const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number]
        const groups = c.groups ?? 1
        const w = g.addInitializer(`${layer.name}.weight`, [cout, cin, kh, kw], hwioToOihw(kernel.values, kh, kw, cin, cout))
        const convInputs = [inputs[0]!, w]
        if (c.use_bias) convInputs.push(g.addInitializer(`${layer.name}.bias`, [cout], weight(layer.name, 'bias').values))
        const [sh, sw] = c.strides as number[]
        const [dh, dw] = c.dilation_rate as number[]
        const attrs: Record<string, number[] | number | string> = { kernel_shape: [kh, kw], strides: [sh!, sw!], dilations: [dh!, dw!], group: groups }
        if (c.padding === 'same') {
          if (sh === 1 && sw === 1) {
            // TF puts the odd pixel of 'same' padding at the bottom/right.
            const ph = dh! * (kh - 1)
            const pw = dw! * (kw - 1)
            attrs.pads = [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)]
          } else attrs.auto_pad = 'SAME_UPPER'
        } else if (c.padding !== 'valid') throw new Error(`${layer.name}: padding ${c.padding}`)
        out = activation(c.activation, g.addNode('Conv', convInputs, layer.name, attrs), `${layer.name}_act`)
        break
      }
      case 'Activation':
        out = activation(c.activation, inputs[0]!, layer.name)
        break
      case 'ReLU':
        if (c.max_value != null || (c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) throw new Error(`${layer.name}: only plain ReLU is supported`)
        out = g.addNode('Relu', [inputs[0]!], layer.name)
        break
      case 'Add':
        out = inputs.length === 2 ? g.addNode('Add', inputs, layer.name) : g.addNode('Sum', inputs, layer.name)
        break
      case 'Concatenate': {
        const axis = NCHW_AXIS[c.axis as number]
        if (axis === undefined) throw new Error(`${layer.name}: concat axis ${c.axis}`)
        out = g.addNode('Concat', inputs, layer.name, { axis })
        break
      }
      case 'UpSampling2D': {
        if (c.interpolation !== 'nearest' && c.interpolation !== undefined) throw new Error(`${layer.name}: interpolation ${c.interpolation}`)
        const [fh, fw] = c.size as number[]
        const scales = g.addInitializer(`${layer.name}.scales`, [4], [1, 1, fh!, fw!])
        // Integer nearest upsampling is a pure repeat: asymmetric + floor reproduces it exactly.
        out = g.addNode('Resize', [inputs[0]!, '', scales], layer.name, {
          mode: 'nearest',
          coordinate_transformation_mode: 'asymmetric',
          nearest_mode: 'floor',
        })
        break
      }
      case 'MultiplyBeta': // UpscalerJS custom layer of the ESRGAN "thick" models: x * beta (0.2)
        out = g.addNode('Mul', [inputs[0]!, g.addInitializer(`${layer.name}.beta`, [], [c.beta ?? 0.2])], layer.name)
        break
      default: {
        const shuffle = /^PixelShuffle(\d+)x$/.exec(layer.class_name)
        if (!shuffle) throw new Error(`layer ${layer.name}: Keras class ${layer.class_name} is not supported by the converter`)
        // tf.depthToSpace (NHWC) orders channels as (row, col, channel): ONNX mode DCR.
        out = g.addNode('DepthToSpace', [inputs[0]!], layer.name, { blocksize: Number(shuffle[1]), mode: 'DCR' })
      }
    }
    tensorOf.set(layer.name, out)
  }

  const finalTensor = tensorOf.get(config.output_layers[0]![0])!
  g.addNode('Identity', [finalTensor], outputName)
  return g.build({
    graphName: config.layers[0]?.name ?? 'model',
    opset: 17,
    inputs: [{ name: inputName, dims: ['batch', 'channels', 'height', 'width'] }],
    outputs: [{ name: outputName, dims: ['batch', 'out_channels', 'out_height', 'out_width'] }],
    docString: options.docString,
  })
}
