import { readFile } from 'node:fs/promises'
import { OnnxGraphBuilder } from './onnx-graph'

/**
 * Converts an ncnn model (a `.param` text graph plus the `.bin` weights it reads in layer order) to
 * ONNX. Only the layer types Real-ESRGAN's ncnn exports use are mapped; anything the mapping cannot
 * honour exactly (an unknown layer, param or weight storage) fails with the layer's name rather than
 * converting to something that computes differently.
 *
 * Semantics follow Tencent/ncnn: docs/developer-guide/param-and-model-file-structure.md and
 * operation-param-weight-table.md for the formats, src/modelbin.cpp for the weight storage flags,
 * src/layer/*.cpp for what each layer computes. Every ncnn blob here is CHW (batch 1), so it is
 * the NCHW tensor [1, C, H, W] in ONNX and ncnn axis a is ONNX axis a + 1.
 */

type ParamValue = number | number[] | string

export interface NcnnLayer {
  type: string
  name: string
  inputs: string[]
  outputs: string[]
  params: Map<number, ParamValue>
}

const MAGIC = '7767517'

export function parseNcnnParam(text: string): { layers: NcnnLayer[]; blobCount: number } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
  if (lines[0] !== MAGIC) throw new Error(`not an ncnn text .param file (first line ${JSON.stringify(lines[0]?.slice(0, 20))}, expected ${MAGIC})`)
  const counts = (lines[1] ?? '').split(/\s+/).map(Number)
  const [layerCount, blobCount] = counts
  if (counts.length !== 2 || !Number.isInteger(layerCount) || !Number.isInteger(blobCount) || layerCount! <= 0 || blobCount! <= 0)
    throw new Error(`ncnn .param: bad layer/blob count line ${JSON.stringify(lines[1])}`)
  const layers = lines.slice(2).map(parseLayerLine)
  if (layers.length !== layerCount) throw new Error(`ncnn .param: header says ${layerCount} layers, the file has ${layers.length}`)
  return { layers, blobCount: blobCount! }
}

function parseLayerLine(line: string): NcnnLayer {
  const tokens = line.split(/\s+/)
  const [type, name] = tokens
  const nin = Number(tokens[2])
  const nout = Number(tokens[3])
  if (!type || !name || !Number.isInteger(nin) || !Number.isInteger(nout) || tokens.length < 4 + nin + nout)
    throw new Error(`ncnn .param: malformed layer line ${JSON.stringify(line.slice(0, 120))}`)
  const params = new Map<number, ParamValue>()
  for (const token of tokens.slice(4 + nin + nout)) {
    const match = /^(-?\d+)=(.*)$/.exec(token)
    if (!match) throw new Error(`ncnn layer ${name}: malformed param ${JSON.stringify(token)}`)
    let id = Number(match[1])
    const raw = match[2]!
    let value: ParamValue
    if (id <= -23300) {
      // Old-style array: key -23300 - id, value "count,v1,v2,...".
      id = -id - 23300
      const [count, ...items] = raw.split(',')
      value = items.map((v) => parseNumber(v, name, token))
      if (Number(count) !== value.length) throw new Error(`ncnn layer ${name}: array param ${token} says ${count} values, has ${value.length}`)
    } else if (/^[A-Za-z"]/.test(raw)) {
      value = raw.replace(/^"|"$/g, '')
    } else if (raw.includes(',')) {
      value = raw.split(',').map((v) => parseNumber(v, name, token)) // modern array: "3=2.0,3.0"
    } else {
      value = parseNumber(raw, name, token)
    }
    if (id < 0 || id > 31) throw new Error(`ncnn layer ${name}: param id out of range in ${token}`)
    if (params.has(id)) throw new Error(`ncnn layer ${name}: param ${id} given twice`)
    params.set(id, value)
  }
  return { type, name, inputs: tokens.slice(4, 4 + nin), outputs: tokens.slice(4 + nin, 4 + nin + nout), params }
}

function parseNumber(text: string, layer: string, token: string): number {
  const value = Number(text)
  if (text === '' || !Number.isFinite(value)) throw new Error(`ncnn layer ${layer}: bad number in param ${token}`)
  return value
}

/** Reads a layer's params like ncnn's ParamDict.get, and remembers which it read so that any other given one fails. */
class Params {
  private readonly used = new Set<number>()
  constructor(private readonly layer: NcnnLayer) {}

  fail(message: string): never {
    throw new Error(`ncnn layer ${this.layer.name} (${this.layer.type}): ${message}`)
  }

  num(id: number, fallback: number): number {
    this.used.add(id)
    const v = this.layer.params.get(id)
    if (v === undefined) return fallback
    if (typeof v !== 'number') this.fail(`param ${id} should be a number, got ${JSON.stringify(v)}`)
    return v
  }

  int(id: number, fallback: number): number {
    const v = this.num(id, fallback)
    if (!Number.isInteger(v)) this.fail(`param ${id} should be an integer, got ${v}`)
    return v
  }

  array(id: number): number[] | undefined {
    this.used.add(id)
    const v = this.layer.params.get(id)
    if (v === undefined || Array.isArray(v)) return v
    if (typeof v === 'number') return [v] // "10=0.2": a one-element modern array reads as a scalar
    this.fail(`param ${id} should be an array, got ${JSON.stringify(v)}`)
  }

  /** A param the mapping only supports at one value (usually ncnn's default). */
  only(id: number, fallback: number, meaning: string): void {
    const v = this.num(id, fallback)
    if (v !== fallback) this.fail(`${meaning} (param ${id}=${v}) is not supported`)
  }

  /** Every param given must have been read: one the mapping does not know would change the maths unseen. */
  finish(): void {
    const unknown = [...this.layer.params.keys()].filter((id) => !this.used.has(id))
    if (unknown.length) this.fail(`unsupported param${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`)
  }
}

const FLAG_FP32 = 0
const FLAG_FP16 = 0x01306b47

let halfToFloat: Float32Array | undefined
function halfTable(): Float32Array {
  if (halfToFloat) return halfToFloat
  halfToFloat = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1
    const exp = (h >> 10) & 0x1f
    const frac = h & 0x3ff
    halfToFloat[h] = sign * (exp === 0 ? frac * 2 ** -24 : exp === 31 ? (frac ? Number.NaN : Number.POSITIVE_INFINITY) : (1 + frac / 1024) * 2 ** (exp - 15))
  }
  return halfToFloat
}

/** The .bin, read front to back in layer order as ncnn's ModelBinFromDataReader does. */
class WeightReader {
  offset = 0
  private readonly view: DataView
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private take(n: number, p: Params, what: string): number {
    if (this.offset + n > this.bytes.length)
      p.fail(
        `${what} needs ${n} bytes at offset ${this.offset}, the .bin has ${this.bytes.length - this.offset} left (truncated, or the .bin is not this .param's)`,
      )
    const at = this.offset
    this.offset += n
    return at
  }

  /** ModelBin::load(w, 1): raw little-endian float32, no flag. */
  raw(count: number, p: Params, what: string): Float32Array {
    const at = this.take(count * 4, p, what)
    // Copy: the offset need not be 4-byte aligned within the file's buffer.
    return new Float32Array(this.bytes.slice(at, at + count * 4).buffer)
  }

  /** ModelBin::load(w, 0): a 4-byte storage flag, then the data in that storage. */
  flagged(count: number, p: Params, what: string): Float32Array {
    const flag = this.view.getUint32(this.take(4, p, `${what} storage flag`), true)
    if (flag === FLAG_FP32) return this.raw(count, p, what)
    if (flag === FLAG_FP16) {
      const at = this.take(Math.ceil((count * 2) / 4) * 4, p, what) // fp16 data is padded to 4 bytes
      const table = halfTable()
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = table[this.view.getUint16(at + 2 * i, true)]!
      return out
    }
    p.fail(
      `${what} storage flag 0x${flag.toString(16).padStart(8, '0')} is not supported: only float32 (0) and float16 (0x01306b47) weights convert, not int8 (0x000d4b38) or quantised tables`,
    )
  }
}

/** A spatial size relative to the graph input's: a fixed count, a multiple of it, or unknown (a symbolic dim of its own). */
type Dim = { fixed: number } | { factor: number } | null
interface Blob {
  tensor: string
  channels: number
  h: Dim
  w: Dim
}

function scaleDim(d: Dim, s: number): Dim {
  if (!d) return null
  if ('fixed' in d) return { fixed: Math.floor(d.fixed * s) }
  return Number.isInteger(d.factor * s) || Number.isInteger(1 / (d.factor * s)) ? { factor: d.factor * s } : null
}

function convDim(d: Dim, kernel: number, stride: number, dilation: number, pads: number): Dim {
  const span = dilation * (kernel - 1) + 1
  if (d && 'fixed' in d) return { fixed: Math.floor((d.fixed + pads - span) / stride) + 1 }
  if (d && stride === 1 && pads === span - 1) return d
  return null
}

function dimParam(d: Dim, base: string): number | string {
  if (!d) return `${base}_out`
  if ('fixed' in d) return d.fixed
  if (d.factor === 1) return base
  return Number.isInteger(d.factor) ? `${base}*${d.factor}` : `${base}/${Math.round(1 / d.factor)}`
}

/** BinaryOp op_type -> ONNX op, and whether ncnn's operands are swapped (RSUB is b - a). */
const BINARY_OPS: Record<number, [string, boolean]> = {
  0: ['Add', false],
  1: ['Sub', false],
  2: ['Mul', false],
  3: ['Div', false],
  4: ['Max', false],
  5: ['Min', false],
  6: ['Pow', false],
  7: ['Sub', true],
  8: ['Div', true],
  9: ['Pow', true],
}

export interface NcnnConvertOptions {
  docString: string
}

/** Converts parsed .param text and .bin bytes; the graph's input is `input` [1, 3, height, width], its output `output`. */
export function convertNcnn(paramText: string, bin: Uint8Array, options: NcnnConvertOptions): Uint8Array {
  const { layers, blobCount } = parseNcnnParam(paramText)
  const g = new OnnxGraphBuilder()
  const inputName = g.uniqueName('input')
  const outputName = g.uniqueName('output') // reserved: the output tensor is renamed to it at the end
  const blobs = new Map<string, Blob>()
  const weights = new WeightReader(bin)
  let inputChannels = 0
  let producedBlobs = 0

  for (const layer of layers) {
    // Annotated so that TypeScript treats p.fail(), which never returns, as the end of a branch.
    const p: Params = new Params(layer)
    const ins = layer.inputs.map((name) => blobs.get(name) ?? p.fail(`input blob ${name} is not produced by an earlier layer`))
    const define = (name: string, blob: Blob) => {
      if (blobs.has(name)) p.fail(`blob ${name} is produced twice`)
      blobs.set(name, blob)
      producedBlobs++
    }
    const arity = (nin: number | 'many', nout: number) => {
      if (nin === 'many' ? ins.length < 1 : ins.length !== nin) p.fail(`expected ${nin} input blob(s), got ${ins.length}`)
      if (layer.outputs.length !== nout) p.fail(`expected ${nout} output blob(s), got ${layer.outputs.length}`)
    }
    const out = layer.outputs[0]!
    const base = layer.name

    switch (layer.type) {
      case 'Input': {
        arity(0, 1)
        if (inputChannels) p.fail('only one Input layer is supported')
        // w/h (0, 1, 11) are shape hints that ncnn itself ignores at run time; the channel count is the graph's.
        p.num(0, 0)
        p.num(1, 0)
        p.only(11, 0, 'a 4-D (depth) input')
        inputChannels = p.int(2, 0) || 3
        define(out, { tensor: inputName, channels: inputChannels, h: { factor: 1 }, w: { factor: 1 } })
        break
      }
      case 'Split': {
        // ncnn copies a blob to each consumer; ONNX tensors can be read many times, so outputs alias the input.
        if (ins.length !== 1 || layer.outputs.length < 1) p.fail('expected one input blob and at least one output')
        for (const o of layer.outputs) define(o, ins[0]!)
        break
      }
      case 'Convolution': {
        arity(1, 1)
        const x = ins[0]!
        const numOutput = p.int(0, 0)
        const kw = p.int(1, 0)
        const kh = p.int(11, kw)
        const dw = p.int(2, 1)
        const dh = p.int(12, dw)
        const sw = p.int(3, 1)
        const sh = p.int(13, sw)
        const padLeft = p.int(4, 0)
        const padRight = p.int(15, padLeft)
        const padTop = p.int(14, padLeft)
        const padBottom = p.int(16, padTop)
        if ([padLeft, padRight, padTop, padBottom].some((v) => v < 0)) p.fail('automatic (SAME, -233/-234) padding is not supported')
        p.only(18, 0, 'a non-zero pad_value')
        const biasTerm = p.int(5, 0)
        const weightSize = p.int(6, 0)
        p.only(8, 0, 'int8 quantisation (int8_scale_term)')
        p.only(19, 0, 'dynamic weights')
        p.num(17, 0) // impl_type picks ncnn's kernel, not the maths
        const activation = p.int(9, 0)
        const activationParams = p.array(10) ?? []
        p.finish()
        if (numOutput <= 0 || kw <= 0 || kh <= 0) p.fail(`bad num_output ${numOutput} or kernel ${kw}x${kh}`)
        const inChannels = weightSize / (numOutput * kh * kw)
        if (inChannels !== x.channels)
          p.fail(`weight_data_size ${weightSize} is not ${numOutput} outputs x ${x.channels} input channels x ${kh}x${kw} (a grouped convolution?)`)
        // ncnn stores the kernel [out][in][kh][kw], which is ONNX's OIHW as is.
        const w = g.addInitializer(`${base}.weight`, [numOutput, inChannels, kh, kw], weights.flagged(weightSize, p, 'weight_data'))
        const convInputs = [x.tensor, w]
        if (biasTerm) convInputs.push(g.addInitializer(`${base}.bias`, [numOutput], weights.raw(numOutput, p, 'bias_data')))
        let y = g.addNode('Conv', convInputs, activation ? `${out}_conv` : out, {
          kernel_shape: [kh, kw],
          strides: [sh, sw],
          dilations: [dh, dw],
          pads: [padTop, padLeft, padBottom, padRight],
          group: 1,
        })
        // Fused activations as src/layer/fused_activation.h computes them.
        if (activation === 1) y = g.addNode('Relu', [y], out)
        else if (activation === 2) y = g.addNode('LeakyRelu', [y], out, { alpha: activationParams[0] ?? p.fail('LeakyReLU without a slope') })
        else if (activation === 3) {
          const [min, max] = activationParams
          if (min === undefined || max === undefined) p.fail('Clip activation without min and max')
          y = g.addNode('Clip', [y, g.addInitializer(`${base}.min`, [], [min]), g.addInitializer(`${base}.max`, [], [max])], out)
        } else if (activation === 4) y = g.addNode('Sigmoid', [y], out)
        else if (activation !== 0) p.fail(`activation_type ${activation} is not supported`)
        define(out, {
          tensor: y,
          channels: numOutput,
          h: convDim(x.h, kh, sh, dh, padTop + padBottom),
          w: convDim(x.w, kw, sw, dw, padLeft + padRight),
        })
        break
      }
      case 'PReLU': {
        arity(1, 1)
        const x = ins[0]!
        const numSlope = p.int(0, 0)
        p.finish()
        if (numSlope !== 1 && numSlope !== x.channels) p.fail(`${numSlope} slopes for ${x.channels} channels`)
        // [C,1,1] broadcasts per channel over [1,C,H,W]; a single slope ([1,1,1]) over everything, as in ncnn.
        const slope = g.addInitializer(`${base}.slope`, [numSlope, 1, 1], weights.raw(numSlope, p, 'slope_data'))
        define(out, { ...x, tensor: g.addNode('PRelu', [x.tensor, slope], out) })
        break
      }
      case 'Eltwise': {
        arity('many', 1)
        const op = p.int(0, 0)
        const coeffs = p.array(1)
        p.finish()
        if (ins.length < 2) p.fail('needs at least two inputs')
        const tensors = ins.map((b) => b.tensor)
        let y: string
        if (op === 0) y = tensors.slice(1).reduce((acc, t, i) => g.addNode('Mul', [acc, t], i === tensors.length - 2 ? out : `${out}_prod`), tensors[0]!)
        else if (op === 2) y = g.addNode('Max', tensors, out)
        else if (op === 1) {
          // coeffs only weigh a SUM (src/layer/eltwise.cpp); empty means all ones.
          if (coeffs && coeffs.length !== tensors.length) p.fail(`${coeffs.length} coefficients for ${tensors.length} inputs`)
          const terms = tensors.map((t, i) => {
            const c = coeffs?.[i] ?? 1
            return c === 1 ? t : g.addNode('Mul', [t, g.addInitializer(`${base}.coeff${i}`, [], [c])], `${out}_term${i}`)
          })
          y = terms.slice(1).reduce((acc, t, i) => g.addNode('Add', [acc, t], i === terms.length - 2 ? out : `${out}_sum`), terms[0]!)
        } else p.fail(`op_type ${op} is not supported`)
        define(out, { ...ins[0]!, tensor: y })
        break
      }
      case 'BinaryOp': {
        const op = p.int(0, 0)
        const withScalar = p.int(1, 0)
        const b = p.num(2, 0)
        p.finish()
        const mapped = BINARY_OPS[op] ?? p.fail(`op_type ${op} is not supported`)
        arity(withScalar ? 1 : 2, 1)
        const [first, second] = ins as [Blob, Blob | undefined]
        const other = second ? second.tensor : g.addInitializer(`${base}.b`, [], [b])
        const operands = mapped[1] ? [other, first.tensor] : [first.tensor, other]
        // Both operands are rank-4 here, where ncnn's broadcasting of size-1 dims agrees with ONNX's.
        const wider = second && second.channels > first.channels ? second : first
        define(out, { ...wider, tensor: g.addNode(mapped[0], operands, out) })
        break
      }
      case 'Concat': {
        arity('many', 1)
        const axis = p.int(0, 0)
        p.finish()
        const a = axis < 0 ? axis + 3 : axis
        if (a < 0 || a > 2) p.fail(`axis ${axis} is out of range for a CHW blob`)
        const sum = (dims: Dim[]): Dim =>
          dims.every((d) => d && 'fixed' in d)
            ? { fixed: dims.reduce((s, d) => s + (d as { fixed: number }).fixed, 0) }
            : dims.every((d) => d && 'factor' in d)
              ? { factor: dims.reduce((s, d) => s + (d as { factor: number }).factor, 0) }
              : null
        const blob: Blob = {
          ...ins[0]!,
          tensor: g.addNode(
            'Concat',
            ins.map((b) => b.tensor),
            out,
            { axis: a + 1 },
          ),
        }
        if (a === 0) blob.channels = ins.reduce((s, b) => s + b.channels, 0)
        else if (a === 1) blob.h = sum(ins.map((b) => b.h))
        else blob.w = sum(ins.map((b) => b.w))
        define(out, blob)
        break
      }
      case 'Interp': {
        arity(1, 1)
        const x = ins[0]!
        const resizeType = p.int(0, 0)
        const hs = p.num(1, 1)
        const ws = p.num(2, 1)
        const oh = p.int(3, 0)
        const ow = p.int(4, 0)
        p.only(5, 0, 'a dynamic target size')
        const alignCorner = p.int(6, 0)
        p.finish() // a size expression (9) is a string param, so it fails here as unknown
        // src/layer/interp.cpp, nearest: in = min(int(out * (1/scale)), in - 1), i.e. floor of out/scale ("asymmetric").
        // Bilinear: (out + 0.5) * in/outsize - 0.5 clamped to the edge ("half_pixel"), or align_corner's (in-1)/(out-1).
        let attrs: Record<string, string>
        if (resizeType === 1) attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
        else if (resizeType === 2) attrs = { mode: 'linear', coordinate_transformation_mode: alignCorner ? 'align_corners' : 'half_pixel' }
        else p.fail(`resize_type ${resizeType} is not supported (1 nearest and 2 bilinear are)`)
        let y: string
        let h: Dim
        let w: Dim
        if (!oh !== !ow) p.fail('only one of output_height and output_width is given')
        if (oh && ow) {
          // Resize's sizes must name every axis: N and C come from the input's shape.
          const nc = g.addNode(
            'Slice',
            [
              g.addNode('Shape', [x.tensor], `${out}_shape`),
              g.addTypedInitializer(`${base}.start`, [1], BigInt64Array.from([0n])),
              g.addTypedInitializer(`${base}.end`, [1], BigInt64Array.from([2n])),
            ],
            `${out}_nc`,
          )
          const sizes = g.addNode('Concat', [nc, g.addTypedInitializer(`${base}.hw`, [2], BigInt64Array.from([BigInt(oh), BigInt(ow)]))], `${out}_sizes`, {
            axis: 0,
          })
          y = g.addNode('Resize', [x.tensor, '', '', sizes], out, attrs)
          h = { fixed: oh }
          w = { fixed: ow }
        } else {
          if (!(hs > 0 && ws > 0)) p.fail(`bad scales ${hs}, ${ws}`)
          // ncnn's bilinear maps by in/outsize, ONNX's by 1/scale: they agree only where in*scale is whole for every size.
          if (resizeType === 2 && !(Number.isInteger(hs) && Number.isInteger(ws))) p.fail(`bilinear with fractional scales ${hs}, ${ws} is not supported`)
          y = g.addNode('Resize', [x.tensor, '', g.addInitializer(`${base}.scales`, [4], [1, 1, hs, ws])], out, attrs)
          h = scaleDim(x.h, hs)
          w = scaleDim(x.w, ws)
        }
        define(out, { tensor: y, channels: x.channels, h, w })
        break
      }
      case 'PixelShuffle': {
        arity(1, 1)
        const x = ins[0]!
        const r = p.int(0, 1)
        const mode = p.int(1, 0)
        p.finish()
        if (r < 1 || x.channels % (r * r)) p.fail(`upscale_factor ${r} does not divide ${x.channels} channels`)
        // src/layer/pixelshuffle.cpp: mode 0 reads channel p*r*r + sh*r + sw for output channel p (PyTorch's
        // pixel_shuffle, DepthToSpace CRD); mode 1 reads (sh*r + sw)*outc + p (TensorFlow's, DCR).
        if (mode !== 0 && mode !== 1) p.fail(`mode ${mode} is not supported`)
        const y = g.addNode('DepthToSpace', [x.tensor], out, { blocksize: r, mode: mode === 0 ? 'CRD' : 'DCR' })
        define(out, { tensor: y, channels: x.channels / (r * r), h: scaleDim(x.h, r), w: scaleDim(x.w, r) })
        break
      }
      default:
        p.fail('unsupported layer type')
    }
  }

  if (!inputChannels) throw new Error('ncnn model has no Input layer')
  if (producedBlobs > blobCount) throw new Error(`ncnn .param: header says ${blobCount} blobs, the layers produce ${producedBlobs}`)
  if (weights.offset !== bin.length)
    throw new Error(
      `ncnn .bin: the layers read ${weights.offset} of its ${bin.length} bytes (the .bin is not this .param's, or holds weights of a layer not read)`,
    )

  // The blob named `output`, else the one blob nothing reads.
  const consumed = new Set(layers.flatMap((l) => l.inputs))
  const finalName = blobs.has('output')
    ? 'output'
    : (() => {
        const unread = [...blobs.keys()].filter((b) => !consumed.has(b))
        if (unread.length !== 1) throw new Error(`ncnn model: no blob named output and ${unread.length} unread blobs (${unread.slice(0, 5).join(', ')})`)
        return unread[0]!
      })()
  const final = blobs.get(finalName)!
  if (final.tensor === inputName) throw new Error('ncnn model: the output is the input')
  for (const node of g.nodes) {
    node.output = node.output.map((t) => (t === final.tensor ? outputName : t))
    node.input = node.input.map((t) => (t === final.tensor ? outputName : t))
  }

  return g.build({
    graphName: 'ncnn',
    inputs: [{ name: inputName, dims: [1, inputChannels, 'height', 'width'] }],
    outputs: [{ name: outputName, dims: [1, final.channels, dimParam(final.h, 'height'), dimParam(final.w, 'width')] }],
    opset: 17,
    docString: options.docString,
  })
}

export async function convertNcnnModel(paramPath: string, binPath: string, options: NcnnConvertOptions): Promise<Uint8Array> {
  const [text, bin] = await Promise.all([readFile(paramPath, 'utf8'), readFile(binPath)])
  try {
    return convertNcnn(text, new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength), options)
  } catch (error) {
    throw new Error(`${paramPath}: ${(error as Error).message}`, { cause: error })
  }
}

/** An ncnn model is its .param (the entry) and the .bin of the same stem beside it. */
export async function ncnnFiles(entry: string): Promise<string[]> {
  if (!entry.endsWith('.param')) throw new Error(`${entry}: an ncnn model's entry is its .param file`)
  return [entry, `${entry.slice(0, -'.param'.length)}.bin`]
}
