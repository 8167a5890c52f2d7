import { resolve } from 'node:path'
import sharp from 'sharp'
import type { Pixels } from '../../inference/runtime/image'

/** The shared fixture photos (../shared/fixtures/images beside the repo). */
export const FIXTURES = resolve(process.env.FIXTURES_DIR ?? resolve(import.meta.dirname, '../../../shared/fixtures/images'))
export const fixture = (name: string) => resolve(FIXTURES, name)

export async function loadRgb(name: string, crop?: { left: number; top: number; width: number; height: number }): Promise<Pixels> {
  let image = sharp(fixture(name)).removeAlpha().toColourspace('srgb')
  if (crop) image = image.extract(crop)
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) }
}

/** Interleaved RGB (HWC, as images and TF.js hold it) to planar (CHW, as the ONNX models take it). */
export function hwcToChw(hwc: ArrayLike<number>, plane: number): Float32Array {
  const chw = new Float32Array(3 * plane)
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = hwc[p * 3 + c]!
  return chw
}

export async function resize(pixels: Pixels, width: number, height: number, kernel: 'cubic' | 'lanczos3' = 'cubic'): Promise<Pixels> {
  const { data, info } = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .resize(width, height, { kernel, fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) }
}

/** Peak signal-to-noise ratio in dB over all channels (8-bit). */
export function psnr(a: Pixels, b: Pixels): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size mismatch ${a.width}x${a.height} vs ${b.width}x${b.height}`)
  let sum = 0
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!
    sum += d * d
  }
  const mse = sum / a.data.length
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse)
}

export async function pngSize(bytes: Uint8Array) {
  const meta = await sharp(bytes).metadata()
  return { format: meta.format, width: meta.width, height: meta.height }
}

/** Uniform numbers in (0, 1) from mulberry32: tiny, seedable and good enough for test noise. */
export function mulberry32(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296
  }
}

/** Adds Gaussian noise of `sigma` (8-bit units) from a fixed seed, rounded and clamped like a saved photo. */
export function addGaussianNoise(pixels: Pixels, sigma: number, seed: number): Pixels {
  const uniform = mulberry32(seed)
  const data = new Uint8Array(pixels.data.length)
  for (let i = 0; i < data.length; i += 2) {
    // Box-Muller gives two independent normals per pair of uniforms.
    const r = Math.sqrt(-2 * Math.log(uniform()))
    const theta = 2 * Math.PI * uniform()
    data[i] = Math.min(255, Math.max(0, Math.round(pixels.data[i]! + sigma * r * Math.cos(theta))))
    if (i + 1 < data.length) data[i + 1] = Math.min(255, Math.max(0, Math.round(pixels.data[i + 1]! + sigma * r * Math.sin(theta))))
  }
  return { ...pixels, data }
}

/** The image with `pad` px mirrored on every side, the edge pixel not repeated (numpy's and PyTorch's 'reflect'). */
export function reflectPad(image: Pixels, pad: number): Pixels {
  const { channels } = image
  const width = image.width + 2 * pad
  const height = image.height + 2 * pad
  // Reflected back and forth as often as it takes: an image narrower than the pad is mirrored again.
  const reflect = (v: number, n: number) => {
    const period = 2 * (n - 1)
    if (period === 0) return 0
    const m = ((v % period) + period) % period
    return m < n ? m : period - m
  }
  const data = new Uint8Array(width * height * channels)
  for (let y = 0; y < height; y++) {
    const row = reflect(y - pad, image.height) * image.width
    for (let x = 0; x < width; x++) {
      const source = (row + reflect(x - pad, image.width)) * channels
      data.set(image.data.subarray(source, source + channels), (y * width + x) * channels)
    }
  }
  return { width, height, channels, data }
}
