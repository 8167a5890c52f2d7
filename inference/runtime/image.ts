import sharp, { type KernelEnum, type Metadata, type OutputInfo } from 'sharp'
import type { ImageLimits } from '../../contracts/service'
import { InferenceError } from './errors'

/** 8-bit interleaved pixels (HWC). */
export interface Pixels {
  width: number
  height: number
  channels: number
  data: Uint8Array
}

export interface DecodedImage {
  rgb: Pixels
  /** The alpha channel, if the image has one; models see RGB only. */
  alpha: Pixels | null
}

// Keep libvips from holding decoded images between requests: a service's memory should follow its jobs.
sharp.cache(false)

const FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif', 'heif'])

/**
 * Reads the header only and checks every limit before a single pixel is decoded,
 * so a 50000x50000 PNG of a few kilobytes is refused without allocating anything.
 */
/** The size the whole job or step makes of an image (the output-pixel limit applies to it), or the scale it magnifies by. */
export type ResultSize = ((image: { width: number; height: number }) => { width: number; height: number }) | number

export async function inspectImage(bytes: Uint8Array, limits: ImageLimits, resultSize: ResultSize) {
  if (bytes.length === 0) throw new InferenceError('bad_image', 'The file is empty.')
  if (bytes.length > limits.maxInputBytes) throw new InferenceError('too_large', `The file is ${mb(bytes.length)}; the limit is ${mb(limits.maxInputBytes)}.`)
  let meta: Metadata
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch {
    throw new InferenceError('bad_image', 'The file is damaged or is not an image we can read (JPEG, PNG, WebP, TIFF, GIF or AVIF).')
  }
  if (!meta.format || !FORMATS.has(meta.format) || !meta.width || !meta.height)
    throw new InferenceError('bad_image', `Unsupported image format${meta.format ? ` '${meta.format}'` : ''}.`)
  const pixels = meta.width * meta.height
  if (pixels > limits.maxInputPixels)
    throw new InferenceError('too_large', `The image is ${meta.width}x${meta.height} (${mp(pixels)}); the limit is ${mp(limits.maxInputPixels)}.`)
  // EXIF orientations 5-8 swap width and height.
  const swapped = (meta.orientation ?? 1) >= 5
  const [width, height] = swapped ? [meta.height, meta.width] : [meta.width, meta.height]
  const result = typeof resultSize === 'number' ? { width: width * resultSize, height: height * resultSize } : resultSize({ width, height })
  if (result.width * result.height > limits.maxOutputPixels)
    throw new InferenceError(
      'too_large',
      `The x${Number((result.width / width).toFixed(2))} result of this ${width}x${height} image would be ${result.width}x${result.height} (${mp(result.width * result.height)}); the limit is ${mp(limits.maxOutputPixels)}. Try a smaller scale or image.`,
    )
  return { format: meta.format, width, height, hasAlpha: meta.hasAlpha === true }
}

/** Decodes to 8-bit sRGB with EXIF orientation applied; damaged files become a clear `bad_image`. */
export async function decodeImage(bytes: Uint8Array, limits: ImageLimits, resultSize: ResultSize): Promise<DecodedImage> {
  const info = await inspectImage(bytes, limits, resultSize)
  let raw: { data: Buffer; info: OutputInfo }
  try {
    const pipeline = sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: 'truncated', pages: 1 }).rotate().toColourspace('srgb')
    raw = await (info.hasAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha()).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
  } catch (error) {
    throw new InferenceError('bad_image', `The image is damaged or incomplete (${(error as Error).message.split('\n')[0]}).`)
  }
  const { width, height, channels } = raw.info
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength)
  if (channels === 3) return { rgb: { width, height, channels: 3, data }, alpha: null }
  const rgb = new Uint8Array(width * height * 3)
  const alpha = new Uint8Array(width * height)
  for (let p = 0; p < width * height; p++) {
    rgb[p * 3] = data[p * 4]!
    rgb[p * 3 + 1] = data[p * 4 + 1]!
    rgb[p * 3 + 2] = data[p * 4 + 2]!
    alpha[p] = data[p * 4 + 3]!
  }
  return { rgb: { width, height, channels: 3, data: rgb }, alpha: { width, height, channels: 1, data: alpha } }
}

/** Resizes with a classical kernel; used for alpha channels and as the bicubic baseline. */
export async function resizePixels(pixels: Pixels, width: number, height: number, kernel: keyof KernelEnum = 'lanczos3'): Promise<Pixels> {
  let image = sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels as 1 | 3 | 4 } }).resize(width, height, {
    kernel,
    fit: 'fill',
  })
  // Without this, sharp writes a one-band image (an alpha plane) back as three sRGB bands.
  if (pixels.channels === 1) image = image.toColourspace('b-w')
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }
}

/** A rectangle of the image. */
export function cropPixels(image: Pixels, left: number, top: number, width: number, height: number): Pixels {
  const { channels } = image
  const data = new Uint8Array(width * height * channels)
  for (let y = 0; y < height; y++) {
    const start = ((y + top) * image.width + left) * channels
    data.set(image.data.subarray(start, start + width * channels), y * width * channels)
  }
  return { width, height, channels, data }
}

export async function encodePng(rgb: Pixels, alpha: Pixels | null): Promise<Buffer> {
  let image = sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
  if (alpha)
    image = image.joinChannel(Buffer.from(alpha.data.buffer, alpha.data.byteOffset, alpha.data.byteLength), {
      raw: { width: alpha.width, height: alpha.height, channels: 1 },
    })
  return image.png({ compressionLevel: 6 }).toBuffer()
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const mp = (pixels: number) => `${(pixels / 1e6).toFixed(1)} megapixels`

/**
 * Full check of an upload: limits from the header, then a real decode (to a small size, so
 * it is cheap), which is what finds truncated or corrupt files before a job is queued.
 */
export async function validateImage(
  bytes: Uint8Array,
  limits: ImageLimits,
  resultSize: ResultSize,
  beforeDecode?: (info: Awaited<ReturnType<typeof inspectImage>>) => void,
) {
  const info = await inspectImage(bytes, limits, resultSize)
  // Checks that need only the size (a model's own limits) run before the decode they may spare.
  beforeDecode?.(info)
  try {
    await sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: 'truncated', pages: 1 }).resize(64, 64, { fit: 'inside' }).raw().toBuffer()
  } catch (error) {
    throw new InferenceError('bad_image', `The image is damaged or incomplete (${(error as Error).message.split('\n')[0]}).`)
  }
  return info
}
