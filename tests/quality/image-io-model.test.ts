import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import type { ImageLimits } from '../../contracts/service'
import { loadModel } from '../../inference/runtime/model-files'
import { esrganSlim } from '../../inference/models/esrgan'
import { decodeImage, encodePng, resizePixels } from '../../inference/runtime/image'
import { fixture, loadRgb } from '../helpers/images'
import { withoutPngChunk } from '../helpers/png'

const LIMITS: ImageLimits = { maxInputBytes: 25 * 1024 * 1024, maxInputPixels: 16_000_000, maxOutputPixels: 64_000_000 }

// The I/O paths through the real esrgan-slim (its output on grey, alpha, rotated inputs); on a generated model: tests/unit/image-io.test.ts.

/** What the upscale service does with one upload (inference/service/http-server.ts), with the real esrgan-slim model. */
async function upscale(bytes: Uint8Array, scale: number) {
  const image = await decodeImage(bytes, LIMITS, scale)
  const rgb = await esrganSlim.process(image.rgb, { scale }, { signal: new AbortController().signal, onProgress: () => {} })
  const alpha = image.alpha && (await resizePixels(image.alpha, rgb.width, rgb.height))
  const png = await encodePng(rgb, alpha)
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
  return { png, data, info, decoded: image }
}

beforeAll(async () => {
  await loadModel(esrganSlim)
})

describe('inputs of every common kind, through the real model', () => {
  it('keeps the alpha channel: a transparency gradient comes back resized with the result', async () => {
    const rgb = await loadRgb('chelsea.png', { left: 100, top: 50, width: 64, height: 48 })
    const alphaIn = Buffer.alloc(64 * 48)
    for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) alphaIn[y * 64 + x] = Math.round((x / 63) * 255)
    const rgba = await sharp(Buffer.from(rgb.data), { raw: { width: 64, height: 48, channels: 3 } })
      .joinChannel(alphaIn, { raw: { width: 64, height: 48, channels: 1 } })
      .png()
      .toBuffer()
    const { data, info } = await upscale(rgba, 2)
    expect([info.width, info.height, info.channels]).toEqual([128, 96, 4])
    // Left edge transparent, right edge opaque, a smooth ramp between.
    const alphaAt = (x: number, y: number) => data[(y * 128 + x) * 4 + 3]!
    expect(alphaAt(0, 50)).toBeLessThan(8)
    expect(alphaAt(127, 50)).toBeGreaterThan(247)
    expect(Math.abs(alphaAt(64, 50) - 128)).toBeLessThan(8)
    // The colour under the alpha is the model's upscale, not blanked by transparency.
    const opaqueRed = data[(50 * 128 + 120) * 4]!
    expect(opaqueRed).toBeGreaterThan(0)
  })

  it('upscales a greyscale PNG (with and without alpha) to grey RGB', async () => {
    const grey = await sharp(fixture('camera.png')).resize(64, 64).toColourspace('b-w').png().toBuffer()
    expect((await sharp(grey).metadata()).channels).toBe(1)
    const plain = await upscale(grey, 2)
    expect(plain.decoded.rgb.channels).toBe(3)
    expect([plain.info.width, plain.info.height, plain.info.channels]).toEqual([128, 128, 3])
    // Grey in, grey out: the model sees three equal channels; it may tint a few edge pixels faintly.
    let chroma = 0
    for (let p = 0; p < 128 * 128; p++) chroma += Math.abs(plain.data[p * 3]! - plain.data[p * 3 + 1]!) + Math.abs(plain.data[p * 3]! - plain.data[p * 3 + 2]!)
    expect(chroma / (2 * 128 * 128)).toBeLessThan(1.5)

    const greyAlpha = await sharp(fixture('camera.png')).resize(64, 64).toColourspace('b-w').ensureAlpha(0.5).png().toBuffer()
    expect((await sharp(greyAlpha).metadata()).channels).toBe(2)
    const withAlpha = await upscale(greyAlpha, 2)
    expect(withAlpha.info.channels).toBe(4)
    expect(Math.abs(withAlpha.data[3]! - 128)).toBeLessThanOrEqual(1)
  })

  it('reads 16-bit PNGs (RGB and grey) as the same 8-bit image', async () => {
    const eight = await loadRgb('chelsea.png', { left: 100, top: 50, width: 48, height: 32 })
    const source = sharp(Buffer.from(eight.data), { raw: { width: 48, height: 32, channels: 3 } })
    for (const colourspace of ['rgb16', 'grey16'] as const) {
      const sixteen = await source.clone().toColourspace(colourspace).png().toBuffer()
      expect((await sharp(sixteen).metadata()).depth).toBe('ushort')
      const decoded = await decodeImage(sixteen, LIMITS, 2)
      expect([decoded.rgb.width, decoded.rgb.height, decoded.rgb.channels]).toEqual([48, 32, 3])
      if (colourspace === 'rgb16') {
        let maxDiff = 0
        for (let i = 0; i < eight.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(decoded.rgb.data[i]! - eight.data[i]!))
        expect(maxDiff).toBeLessThanOrEqual(1)
      }
      const { info } = await upscale(sixteen, 2)
      expect([info.width, info.height]).toEqual([96, 64])
    }
  })

  it('applies EXIF orientation before upscaling', async () => {
    // Stored 60x40: left half red, right half blue; orientation 6 means "rotate 90° clockwise to view".
    const stored = Buffer.alloc(60 * 40 * 3)
    for (let y = 0; y < 40; y++) for (let x = 0; x < 60; x++) stored.set(x < 30 ? [220, 30, 30] : [30, 30, 220], (y * 60 + x) * 3)
    const jpeg = await sharp(stored, { raw: { width: 60, height: 40, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer()
    const { data, info } = await upscale(jpeg, 2)
    expect([info.width, info.height]).toEqual([80, 120])
    // Rotated clockwise, the stored left (red) half is now on top.
    const at = (x: number, y: number) => [...data.subarray((y * 80 + x) * 3, (y * 80 + x) * 3 + 3)]
    const [r1, , b1] = at(40, 20)
    const [r2, , b2] = at(40, 100)
    expect(r1! - b1!).toBeGreaterThan(100)
    expect(b2! - r2!).toBeGreaterThan(100)
  })

  it('converts an image with a Display P3 ICC profile to sRGB', async () => {
    const colour = [200, 100, 50]
    const flat = Buffer.alloc(32 * 32 * 3)
    for (let p = 0; p < 32 * 32; p++) flat.set(colour, p * 3)
    // sharp converts the sRGB colour to P3 numbers and embeds the P3 profile.
    const p3 = await sharp(flat, { raw: { width: 32, height: 32, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toBuffer()
    expect((await sharp(p3).metadata()).icc).toBeDefined()
    // Not vacuous: read without its profile, the file holds visibly different numbers.
    const stored = await sharp(withoutPngChunk(p3, 'iCCP')).raw().toBuffer()
    expect(Math.max(...colour.map((c, i) => Math.abs(stored[i]! - c)))).toBeGreaterThan(5)
    const decoded = await decodeImage(p3, LIMITS, 2)
    for (const [i, c] of colour.entries()) expect(Math.abs(decoded.rgb.data[i]! - c)).toBeLessThanOrEqual(2)
    const { info } = await upscale(p3, 2)
    expect([info.width, info.height, info.channels]).toEqual([64, 64, 3])
  })

  it('converts a CMYK JPEG to sRGB', async () => {
    const photo = await sharp(fixture('coffee.png')).resize(48, 32).removeAlpha().png().toBuffer()
    const cmyk = await sharp(photo).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer()
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk')
    const decoded = await decodeImage(cmyk, LIMITS, 2)
    expect(decoded.rgb.channels).toBe(3)
    const reference = await sharp(photo).raw().toBuffer()
    let sum = 0
    for (let i = 0; i < reference.length; i++) sum += Math.abs(decoded.rgb.data[i]! - reference[i]!)
    expect(sum / reference.length).toBeLessThan(12) // CMYK round trip through profiles is lossy, but the same picture
  })
})
