import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp, { type Sharp } from 'sharp'
import { esrganMedium, esrganSlim, esrganThick, realesrganGeneralX4, realesrganX4plus } from '../../inference/models/esrgan'
import type { Pixels } from '../../inference/runtime/image'
import { loadModel } from '../../inference/runtime/model-files'
import { loadRgb, mulberry32, psnr, resize } from './images'
import { maskedSsim } from './text-overlays'

/**
 * x4 upscaling judged against the photo it came from: a clean crop of a fixture photo is downscaled
 * x4 (bicubic, as the existing upscale tests do) and, for the damaged cases, then hurt the way real
 * small photos are (Gaussian blur, sensor noise, JPEG); every upscaler's x4 result is scored against
 * the clean crop. Everything follows from fixed parameters and seeds: the same bytes every run.
 */

export interface Damage {
  name: string
  /** Gaussian blur sigma, in low-resolution pixels. */
  blur: number
  /** Noise standard deviation at mid-grey, 8-bit levels (see `addSensorNoise`). */
  noise: number
  /** libjpeg quality, 4:2:0. */
  quality: number
}

/** The damage combinations of the evaluation set: the corners and middle of blur 0.6-1.4, noise 2-8, JPEG 30-60. */
export const DAMAGES: readonly Damage[] = [
  { name: 'light', blur: 0.6, noise: 2, quality: 60 },
  { name: 'medium', blur: 1, noise: 5, quality: 45 },
  { name: 'heavy', blur: 1.4, noise: 8, quality: 30 },
  { name: 'noisy-jpeg', blur: 0.6, noise: 8, quality: 30 },
  { name: 'soft', blur: 1.4, noise: 2, quality: 60 },
]
export const damage = (name: string) => DAMAGES.find((d) => d.name === name)!

/** A region of a fixture photo at full resolution; width and height multiples of 4 (the input is a quarter). */
export interface Crop {
  name: string
  photo: string
  left: number
  top: number
  width: number
  height: number
}

/**
 * The bench's crops: the five fixtures whole (colour, grey, a text scan) and textured parts of them
 * (face, fur and whiskers, hair, fabric and a printed patch, flag stripes, wood grain, glaze and metal,
 * grass, a skyline, print), 108-600 px wide, so 27-150 px inputs.
 */
export const BENCH_CROPS: readonly Crop[] = [
  { name: 'astronaut', photo: 'astronaut.png', left: 0, top: 0, width: 512, height: 512 },
  { name: 'astronaut-face', photo: 'astronaut.png', left: 128, top: 0, width: 256, height: 256 },
  { name: 'astronaut-flag', photo: 'astronaut.png', left: 0, top: 32, width: 160, height: 320 },
  { name: 'astronaut-patch', photo: 'astronaut.png', left: 96, top: 320, width: 256, height: 160 },
  { name: 'astronaut-shuttle', photo: 'astronaut.png', left: 352, top: 0, width: 160, height: 288 },
  { name: 'chelsea', photo: 'chelsea.png', left: 0, top: 0, width: 448, height: 300 },
  { name: 'chelsea-eyes', photo: 'chelsea.png', left: 96, top: 48, width: 320, height: 128 },
  { name: 'chelsea-forehead', photo: 'chelsea.png', left: 128, top: 0, width: 256, height: 128 },
  { name: 'chelsea-whiskers', photo: 'chelsea.png', left: 32, top: 192, width: 256, height: 108 },
  { name: 'coffee', photo: 'coffee.png', left: 0, top: 0, width: 600, height: 400 },
  { name: 'coffee-cup', photo: 'coffee.png', left: 160, top: 16, width: 256, height: 256 },
  { name: 'coffee-spoon', photo: 'coffee.png', left: 304, top: 64, width: 160, height: 256 },
  { name: 'coffee-wood', photo: 'coffee.png', left: 400, top: 200, width: 192, height: 192 },
  { name: 'camera', photo: 'camera.png', left: 0, top: 0, width: 512, height: 512 },
  { name: 'camera-face', photo: 'camera.png', left: 128, top: 48, width: 224, height: 224 },
  { name: 'camera-skyline', photo: 'camera.png', left: 320, top: 96, width: 192, height: 160 },
  { name: 'camera-grass', photo: 'camera.png', left: 256, top: 320, width: 256, height: 192 },
  { name: 'page', photo: 'page.png', left: 0, top: 0, width: 384, height: 188 },
  { name: 'page-text', photo: 'page.png', left: 0, top: 32, width: 256, height: 128 },
]

export interface UpscaleCase {
  name: string
  /** null: a clean bicubic downscale. */
  damage: Damage | null
  original: Pixels
  input: Pixels
}

/** The bench's plan: every crop clean and with three of the five damages (rotating, so each damage meets every photo). */
export const benchPlan = () =>
  BENCH_CROPS.flatMap((crop, i) => [{ crop, damage: null }, ...[0, 1, 2].map((k) => ({ crop, damage: DAMAGES[(i + k) % DAMAGES.length]! }))])

export async function buildUpscaleSet(plan: readonly { crop: Crop; damage: Damage | null }[]): Promise<UpscaleCase[]> {
  const cases: UpscaleCase[] = []
  for (const { crop, damage } of plan) {
    if (crop.width % 4 || crop.height % 4) throw new Error(`${crop.name}: ${crop.width}x${crop.height} is not a multiple of 4`)
    const original = await loadRgb(crop.photo, crop)
    const name = `${crop.name}-${damage?.name ?? 'clean'}`
    const small = await resize(original, crop.width / 4, crop.height / 4, 'cubic')
    cases.push({ name, damage, original, input: damage ? await damageImage(small, damage, hashSeed(name)) : small })
  }
  return cases
}

// ---------------------------------------------------------------------------------------------
// Damage

const raw = (p: Pixels) => sharp(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength), { raw: { width: p.width, height: p.height, channels: 3 } })
async function pixels(image: Sharp): Promise<Pixels> {
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) }
}

/** Blur, then sensor noise, then a JPEG round trip (the order of a camera, then a sharing site). */
export async function damageImage(small: Pixels, d: Damage, seed: number): Promise<Pixels> {
  const blurred = await pixels(raw(small).blur(d.blur))
  const noisy = addSensorNoise(blurred, d.noise, seed)
  const jpeg = await raw(noisy).jpeg({ quality: d.quality, chromaSubsampling: '4:2:0' }).toBuffer()
  return pixels(sharp(jpeg))
}

/** FNV-1a, so each case's noise follows from its name alone. */
function hashSeed(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Standard normals from mulberry32 through Box-Muller. */
function normals(seed: number) {
  const uniform = mulberry32(seed)
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
}

/**
 * Sensor-like noise: variance a² + b·v per channel value v (read noise plus a Poisson-like shot part),
 * with a = sigma/2 and b set so the standard deviation at mid-grey (128) is `sigma`: shadows get half
 * of it, highlights 1.3x. Half the variance is shared by the three channels (luma grain), half is
 * per channel (chroma speckle), as after a camera's demosaicking.
 */
export function addSensorNoise(p: Pixels, sigma: number, seed: number): Pixels {
  const normal = normals(seed)
  const read = (sigma / 2) ** 2
  const shot = (0.75 * sigma * sigma) / 128
  const data = new Uint8Array(p.data.length)
  for (let i = 0; i < data.length; i += 3) {
    const shared = normal()
    for (let c = 0; c < 3; c++) {
      const v = p.data[i + c]!
      const n = Math.SQRT1_2 * (shared + normal())
      data[i + c] = Math.min(255, Math.max(0, Math.round(v + Math.sqrt(read + shot * v) * n)))
    }
  }
  return { ...p, data }
}

// ---------------------------------------------------------------------------------------------
// Measures (no network): all on BT.601 luma, where JPEG's blocks and the eye's sense of detail live.

const luma = (p: Pixels) =>
  Float32Array.from({ length: p.width * p.height }, (_, i) => 0.299 * p.data[3 * i]! + 0.587 * p.data[3 * i + 1]! + 0.114 * p.data[3 * i + 2]!)

/** Mean SSIM over luma, 7x7 windows every 3 px, standard constants (text-overlays' maskedSsim with nothing masked out). */
export const ssim = (a: Pixels, b: Pixels) =>
  maskedSsim(a, b, { width: a.width, height: a.height, channels: 1, data: new Uint8Array(a.width * a.height).fill(255) })

/**
 * JPEG blockiness of an output, no reference: the mean luma step across the lines of the input's
 * 8 px JPEG grid, which x`scale` puts every 8·scale px of the output, over the mean step across the
 * other input-pixel boundaries (every `scale` px). 1.0 = no block structure (grid lines are then just
 * a sample of boundaries); 1.4 = steps 40 % larger at block edges than at the picture's other edges.
 * - The step at a boundary is the difference of the means of the scale/2 pixels on each side, not of
 *   two neighbours: bicubic spreads a block edge over ~4 output px while a network that learnt to keep
 *   blocks makes it a 1 px cliff, and both are the same block.
 * - Boundaries are compared with boundaries (not with every position), which cancels patterns of
 *   period `scale` such as a sub-pixel convolution's.
 * - Each step is capped at the 90th percentile of all of them: block edges are small steps, and
 *   without the cap one object edge lying along a grid line (a tripod leg) outweighs them, the more
 *   so the smoother the rest of the output is, which would punish exactly the models that remove noise.
 * Both directions are pooled; the grid starts at (0, 0), as JPEG's does.
 */
export function blockiness(p: Pixels, scale = 4, block = 8): number {
  const { width, height } = p
  const l = luma(p)
  const period = block * scale
  const half = Math.max(1, scale / 2)
  const steps: number[] = []
  const onGrid: boolean[] = []
  const step = (at: number, stride: number) => {
    let s = 0
    for (let k = 0; k < half; k++) s += l[at + k * stride]! - l[at - (k + 1) * stride]!
    return Math.abs(s) / half
  }
  const first = Math.ceil(half / scale) * scale
  for (let x = first; x + half <= width; x += scale) for (let y = 0; y < height; y++) steps.push(step(y * width + x, 1)), onGrid.push(x % period === 0)
  for (let y = first; y + half <= height; y += scale) for (let x = 0; x < width; x++) steps.push(step(y * width + x, width)), onGrid.push(y % period === 0)
  const cap = Float64Array.from(steps).sort()[Math.floor(0.9 * (steps.length - 1))]!
  const sums = [0, 0, 0, 0] // grid sum, grid count, other sum, other count
  steps.forEach((s, i) => {
    const k = onGrid[i] ? 0 : 2
    sums[k]! += Math.min(s, cap)
    sums[k + 1]!++
  })
  return sums[0]! / sums[1]! / (sums[2]! / sums[3]!)
}

/** Sobel gradient magnitude of luma (0 on the 1 px border). */
function gradient(p: Pixels): Float32Array {
  const { width: w, height: h } = p
  const l = luma(p)
  const g = new Float32Array(w * h)
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x
      const gx = l[i - w + 1]! + 2 * l[i + 1]! + l[i + w + 1]! - l[i - w - 1]! - 2 * l[i - 1]! - l[i + w - 1]!
      const gy = l[i + w - 1]! + 2 * l[i + w]! + l[i + w + 1]! - l[i - w - 1]! - 2 * l[i - w]! - l[i - w + 1]!
      g[i] = Math.hypot(gx, gy) / 8
    }
  return g
}

/**
 * Detail relative to the original, from Sobel luma gradients, in two parts:
 * - `sharpness`: Σ|∇out| / Σ|∇original| over the original's edge pixels (its top 10 % of gradient).
 *   1.0 = the original's edges are as steep in the output; blur gives less, oversharpening more.
 *   Restricting to where the original has edges is what keeps noise, JPEG blocks and invented texture
 *   from counting as sharpness (a plain mean-gradient ratio rewards all three; on these damaged inputs
 *   bicubic would score well for its kept noise). Gradient-magnitude similarity (GMSD) was not used:
 *   like SSIM it is a fidelity index that also punishes plausible detail a pixel off, so it would rank
 *   the same way PSNR does, which is what this measure is meant to look past.
 * - `flat`: the same ratio over the original's smoothest half: texture, noise or artefacts the output
 *   adds where the original is smooth (1.0 = as much as the original has; more = noise, invention, or
 *   edges smeared into the smooth parts by blur, which is why bicubic scores above 1 even on clean inputs).
 */
export function detail(out: Pixels, original: Pixels) {
  const go = gradient(out)
  const gr = gradient(original)
  const sorted = Float32Array.from(gr).sort()
  const edge = sorted[Math.floor(sorted.length * 0.9)]!
  const smooth = sorted[Math.floor(sorted.length * 0.5)]!
  let eo = 0,
    er = 0,
    fo = 0,
    fr = 0
  for (let i = 0; i < gr.length; i++) {
    if (gr[i]! >= edge) (eo += go[i]!), (er += gr[i]!)
    else if (gr[i]! <= smooth) (fo += go[i]!), (fr += gr[i]!)
  }
  return { sharpness: eo / er, flat: fo / Math.max(fr, 1e-6) }
}

export interface Scores {
  psnr: number
  ssim: number
  blockiness: number
  sharpness: number
  flat: number
}

export const score = (out: Pixels, original: Pixels): Scores => ({
  psnr: psnr(out, original),
  ssim: ssim(out, original),
  blockiness: blockiness(out),
  ...detail(out, original),
})

export function meanScores(rows: readonly Scores[]): Scores {
  const mean = (k: keyof Scores) => rows.reduce((s, r) => s + r[k], 0) / rows.length
  return { psnr: mean('psnr'), ssim: mean('ssim'), blockiness: mean('blockiness'), sharpness: mean('sharpness'), flat: mean('flat') }
}

/** One markdown row per method: mean PSNR, SSIM, blockiness, sharpness, flat, and optionally time per output MP. */
export function scoreTable(methods: readonly { method: string; scores: Scores; secondsPerMp?: number }[]): string[] {
  const timed = methods.some((m) => m.secondsPerMp !== undefined)
  const head = `| method | PSNR (dB) | SSIM | blockiness | sharpness | flat |${timed ? ' s per output MP |' : ''}`
  return [
    head,
    `|---|--:|--:|--:|--:|--:|${timed ? '--:|' : ''}`,
    ...methods.map(
      ({ method, scores: s, secondsPerMp }) =>
        `| ${method} | ${s.psnr.toFixed(2)} | ${s.ssim.toFixed(3)} | ${s.blockiness.toFixed(3)} | ${s.sharpness.toFixed(3)} | ${s.flat.toFixed(3)} |${timed ? ` ${secondsPerMp?.toFixed(2) ?? ''} |` : ''}`,
    ),
  ]
}

// ---------------------------------------------------------------------------------------------
// Upscalers

/** The upscalers compared, baseline first: bicubic, UpscalerJS's three ESRGANs, the two Real-ESRGANs, all at x4. */
const ADAPTERS = [esrganSlim, esrganMedium, esrganThick, realesrganGeneralX4, realesrganX4plus]
export const UPSCALERS: readonly string[] = ['bicubic', ...ADAPTERS.map((a) => a.info.id)]

export async function loadUpscalers() {
  for (const adapter of ADAPTERS) await loadModel(adapter)
}

export interface Result {
  output: Pixels
  seconds: number
  scores: Scores
}

/** Every upscaler on one case (models loaded first), scored against the case's original. */
export async function runCase(c: UpscaleCase): Promise<Map<string, Result>> {
  const context = { signal: new AbortController().signal, onProgress: () => {} }
  const results = new Map<string, Result>()
  for (const id of UPSCALERS) {
    const adapter = ADAPTERS.find((a) => a.info.id === id)
    const started = performance.now()
    const output = adapter
      ? await adapter.process(c.input, adapter.options.parse({ scale: 4 }), context)
      : await resize(c.input, c.original.width, c.original.height, 'cubic')
    results.set(id, { output, seconds: (performance.now() - started) / 1000, scores: score(output, c.original) })
  }
  return results
}

/** The test artifact of one case: input (nearest) | bicubic | esrgan-medium | general-x4 | x4plus | original. */
export const saveCase = (dir: string, c: UpscaleCase, results: Map<string, Result>) =>
  saveSideBySide(dir, c.name, [
    { label: `input ${c.input.width}x${c.input.height}${c.damage ? ` ${c.damage.name}` : ' clean'}`, image: c.input },
    ...['bicubic', 'esrgan-medium', 'realesrgan-general-x4', 'realesrgan-x4plus'].map((id) => ({ label: id, image: results.get(id)!.output })),
    { label: 'original', image: c.original },
  ])

// ---------------------------------------------------------------------------------------------
// Pictures

/** Writes `<dir>/<name>.png`: the images side by side (the input nearest-neighbour upscaled to their size), each labelled. */
export async function saveSideBySide(dir: string, name: string, tiles: readonly { label: string; image: Pixels }[]): Promise<string> {
  const { width, height } = tiles.at(-1)!.image
  const gap = 4
  const caption = 18
  const sized = await Promise.all(
    tiles.map(async (t) => (t.image.width === width ? t.image : pixels(raw(t.image).resize(width, height, { kernel: 'nearest', fit: 'fill' })))),
  )
  const total = tiles.length * width + (tiles.length - 1) * gap
  const labels = tiles.map((t, i) => `<text x="${i * (width + gap) + 4}" y="13" font-family="sans-serif" font-size="12" fill="#fff">${t.label}</text>`).join('')
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${name}.png`)
  await sharp({ create: { width: total, height: height + caption, channels: 3, background: '#404040' } })
    .composite([
      { input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${total}" height="${caption}">${labels}</svg>`), left: 0, top: 0 },
      ...sized.map((p, i) => ({
        input: Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength),
        raw: { width, height, channels: 3 as const },
        left: i * (width + gap),
        top: caption,
      })),
    ])
    .png()
    .toFile(path)
  return path
}
