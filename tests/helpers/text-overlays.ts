import sharp from 'sharp'
import type { Pixels } from '../../inference/runtime/image'
import { loadRgb } from './images'

/**
 * The evaluation set for text removal: captions, watermarks and timestamps drawn onto the fixture
 * photos in several fonts, sizes and colours, with outlines and shadows. The clean originals are
 * kept, and each drawn item's true box is measured from its own rendering.
 */
export interface TextItem {
  text: string
  x: number
  y: number
  size: number
  font: string
  fill: string
  /** Outline colour (stroke), if any. */
  stroke?: string
  /** Drop shadow offset in pixels, if any. */
  shadow?: number
  opacity?: number
}

export interface OverlaySample {
  name: string
  clean: Pixels
  overlaid: Pixels
  /** True boxes [x0, y0, x1, y1) of every drawn item, outline and shadow included. */
  boxes: [number, number, number, number][]
}

const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'Liberation Sans', 'DejaVu Sans Mono']

function svg(width: number, height: number, items: TextItem[]) {
  const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const body = items
    .map((t) => {
      const common = `x="${t.x}" y="${t.y}" font-family="${t.font}" font-size="${t.size}" font-weight="bold"`
      const shadow = t.shadow ? `<text ${common} dx="${t.shadow}" dy="${t.shadow}" fill="black" fill-opacity="0.6">${escapeXml(t.text)}</text>` : ''
      const stroke = t.stroke ? ` stroke="${t.stroke}" stroke-width="${Math.max(1, t.size / 12)}"` : ''
      return `${shadow}<text ${common} fill="${t.fill}"${stroke} opacity="${t.opacity ?? 1}">${escapeXml(t.text)}</text>`
    })
    .join('')
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`)
}

async function alphaBox(width: number, height: number, item: TextItem): Promise<[number, number, number, number]> {
  const { data } = await sharp(svg(width, height, [item]))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  let x0 = width,
    y0 = height,
    x1 = 0,
    y1 = 0
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (data[(y * width + x) * 4 + 3]! > 24) {
        x0 = Math.min(x0, x)
        y0 = Math.min(y0, y)
        x1 = Math.max(x1, x + 1)
        y1 = Math.max(y1, y + 1)
      }
  return [x0, y0, x1, y1]
}

function layouts(width: number, height: number, seed: number): TextItem[][] {
  const font = (k: number) => FONTS[(seed + k) % FONTS.length]!
  return [
    // A caption at the bottom, white with a dark outline.
    [
      {
        text: 'Summer holidays 2019',
        x: Math.round(width * 0.08),
        y: height - 24,
        size: Math.round(height / 12),
        font: font(0),
        fill: 'white',
        stroke: 'black',
      },
    ],
    // A watermark across the middle and a copyright line.
    [
      {
        text: 'SAMPLE',
        x: Math.round(width * 0.25),
        y: Math.round(height * 0.55),
        size: Math.round(height / 6),
        font: font(1),
        fill: '#ffffff',
        opacity: 0.75,
      },
      { text: '© photo studio', x: 10, y: 28, size: 20, font: font(2), fill: '#ffee00', shadow: 2 },
    ],
    // A camera date stamp in the corner, orange monospace with a shadow.
    [{ text: "'19 08 24 16:32", x: width - 215, y: height - 16, size: 22, font: 'DejaVu Sans Mono', fill: '#ff8c1a', shadow: 1 }],
  ]
}

export async function buildOverlaySet(photos = ['astronaut.png', 'chelsea.png', 'coffee.png', 'camera.png']): Promise<OverlaySample[]> {
  const samples: OverlaySample[] = []
  for (const [seed, photo] of photos.entries()) {
    const clean = await loadRgb(photo)
    for (const [index, items] of layouts(clean.width, clean.height, seed).entries()) {
      const { data } = await sharp(clean.data, { raw: { width: clean.width, height: clean.height, channels: 3 } })
        .composite([{ input: svg(clean.width, clean.height, items) }])
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true })
      const boxes = await Promise.all(items.map((item) => alphaBox(clean.width, clean.height, item)))
      samples.push({ name: `${photo.replace('.png', '')}-${index}`, clean, overlaid: { ...clean, data: new Uint8Array(data) }, boxes })
    }
  }
  return samples
}

export function iou(a: [number, number, number, number], b: [number, number, number, number]): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]))
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]))
  const inter = ix * iy
  const area = (r: typeof a) => (r[2] - r[0]) * (r[3] - r[1])
  return inter / (area(a) + area(b) - inter)
}

/** PSNR over the masked pixels only (where the image was actually changed). */
export function maskedPsnr(a: Pixels, b: Pixels, mask: Pixels): number {
  let sum = 0
  let count = 0
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p]) continue
    for (let c = 0; c < 3; c++) {
      const d = a.data[p * 3 + c]! - b.data[p * 3 + c]!
      sum += d * d
    }
    count += 3
  }
  return count === 0 || sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / count))
}

/** Mean SSIM (luma, 7x7 windows) over the windows that contain masked pixels. */
export function maskedSsim(a: Pixels, b: Pixels, mask: Pixels, win = 7): number {
  const { width, height } = a
  const luma = (img: Pixels) =>
    Float32Array.from({ length: width * height }, (_, p) => 0.299 * img.data[p * 3]! + 0.587 * img.data[p * 3 + 1]! + 0.114 * img.data[p * 3 + 2]!)
  const la = luma(a)
  const lb = luma(b)
  const c1 = (0.01 * 255) ** 2
  const c2 = (0.03 * 255) ** 2
  let total = 0
  let windows = 0
  for (let y = 0; y + win <= height; y += 3)
    for (let x = 0; x + win <= width; x += 3) {
      let masked = false
      let ma = 0,
        mb = 0
      for (let j = 0; j < win; j++)
        for (let i = 0; i < win; i++) {
          const p = (y + j) * width + x + i
          masked ||= mask.data[p]! > 0
          ma += la[p]!
          mb += lb[p]!
        }
      if (!masked) continue
      const n = win * win
      ma /= n
      mb /= n
      let va = 0,
        vb = 0,
        cov = 0
      for (let j = 0; j < win; j++)
        for (let i = 0; i < win; i++) {
          const p = (y + j) * width + x + i
          va += (la[p]! - ma) ** 2
          vb += (lb[p]! - mb) ** 2
          cov += (la[p]! - ma) * (lb[p]! - mb)
        }
      va /= n - 1
      vb /= n - 1
      cov /= n - 1
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
      windows++
    }
  return windows ? total / windows : 1
}

/**
 * The baseline a learned or classical method must beat: masked pixels replaced by a Gaussian-like
 * blur (three box passes, in floating point) of the known pixels around them, normalised so the
 * text itself does not bleed in.
 */
export async function blurFill(image: Pixels, mask: Pixels, radius = 24): Promise<Pixels> {
  const { width, height } = image
  const weight = Float32Array.from(mask.data, (v) => (v ? 0 : 1))
  const channels = [0, 1, 2].map((c) => Float32Array.from({ length: width * height }, (_, p) => (mask.data[p] ? 0 : image.data[p * 3 + c]!)))
  // Running sums along rows then columns: the same box means as summing each window, in O(pixels)
  // instead of O(pixels x radius) (the summed version took most of the text-removal test's time under coverage).
  const boxBlur = (src: Float32Array) => {
    const tmp = new Float32Array(src.length)
    const out = new Float32Array(src.length)
    for (let y = 0; y < height; y++) {
      const row = y * width
      let sum = 0
      for (let k = 0; k <= Math.min(width - 1, radius); k++) sum += src[row + k]!
      for (let x = 0; x < width; x++) {
        tmp[row + x] = sum
        if (x + radius + 1 < width) sum += src[row + x + radius + 1]!
        if (x - radius >= 0) sum -= src[row + x - radius]!
      }
    }
    for (let x = 0; x < width; x++) {
      let sum = 0
      for (let k = 0; k <= Math.min(height - 1, radius); k++) sum += tmp[k * width + x]!
      for (let y = 0; y < height; y++) {
        out[y * width + x] = sum
        if (y + radius + 1 < height) sum += tmp[(y + radius + 1) * width + x]!
        if (y - radius >= 0) sum -= tmp[(y - radius) * width + x]!
      }
    }
    return out
  }
  const blur3 = (src: Float32Array) => boxBlur(boxBlur(boxBlur(src)))
  const den = blur3(weight)
  const nums = channels.map(blur3)
  const out = new Uint8Array(image.data)
  for (let p = 0; p < mask.data.length; p++)
    if (mask.data[p]) for (let c = 0; c < 3; c++) out[p * 3 + c] = den[p]! > 1e-6 ? Math.min(255, Math.max(0, Math.round(nums[c]![p]! / den[p]!))) : 128
  return { ...image, data: out }
}
