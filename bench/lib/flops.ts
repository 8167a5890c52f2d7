import { readFile } from 'node:fs/promises'
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/**
 * Counts the FLOPs of one run of a converted image model on an `height` x `width` input, by
 * propagating shapes through the ops our converter emits. FLOPs = 2 x the multiply-adds of the
 * Conv layers (bias included); element-wise ops (ReLU, Add, Concat, ...) are under 1 % and left out,
 * as in the usual GFLOP/s figures for convolution libraries.
 */
export async function countConvFlops(onnxPath: string, height: number, width: number): Promise<number> {
  const model = onnx.ModelProto.decode(await readFile(onnxPath))
  const graph = model.graph!
  const dims = new Map<string, number[]>() // tensor -> [C, H, W]
  for (const init of graph.initializer ?? []) dims.set(init.name!, (init.dims ?? []).map(Number))
  dims.set(graph.input![0]!.name!, [3, height, width])
  const attr = (node: onnxProto.onnx.INodeProto, name: string) => node.attribute?.find((a) => a.name === name)
  let flops = 0
  for (const node of graph.node ?? []) {
    const inputs = (node.input ?? []).map((name) => dims.get(name))
    const x = inputs[0]!
    let out: number[]
    switch (node.opType) {
      case 'Conv': {
        const [cout, cinPerGroup, kh, kw] = inputs[1]!
        const pads = (attr(node, 'pads')?.ints ?? [0, 0, 0, 0]).map(Number)
        const strides = (attr(node, 'strides')?.ints ?? [1, 1]).map(Number)
        const dilations = (attr(node, 'dilations')?.ints ?? [1, 1]).map(Number)
        const same = attr(node, 'auto_pad')
        const h = same ? Math.ceil(x[1]! / strides[0]!) : Math.floor((x[1]! + pads[0]! + pads[2]! - dilations[0]! * (kh! - 1) - 1) / strides[0]!) + 1
        const w = same ? Math.ceil(x[2]! / strides[1]!) : Math.floor((x[2]! + pads[1]! + pads[3]! - dilations[1]! * (kw! - 1) - 1) / strides[1]!) + 1
        out = [cout!, h, w]
        flops += 2 * cout! * cinPerGroup! * kh! * kw! * h * w + (inputs[2] ? cout! * h * w : 0)
        break
      }
      case 'Concat':
        out = [inputs.reduce((sum, d) => sum + d![0]!, 0), x[1]!, x[2]!]
        break
      case 'Resize': {
        const scales = graph.initializer!.find((i) => i.name === node.input![2])!
        const values = new Float32Array(Uint8Array.from(scales.rawData!).buffer)
        out = [x[0]!, x[1]! * values[2]!, x[2]! * values[3]!]
        break
      }
      case 'DepthToSpace': {
        const b = Number(attr(node, 'blocksize')!.i)
        out = [x[0]! / (b * b), x[1]! * b, x[2]! * b]
        break
      }
      case 'Relu':
      case 'PRelu':
      case 'LeakyRelu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Add':
      case 'Sum':
      case 'Mul':
      case 'Identity':
        out = x
        break
      default:
        throw new Error(`countConvFlops: op ${node.opType} has no shape rule`)
    }
    dims.set(node.output![0]!, out)
  }
  return flops
}
