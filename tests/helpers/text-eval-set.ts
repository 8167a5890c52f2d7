import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import type { Pixels } from '../../inference/runtime/image'
import { loadRgb } from './images'

/**
 * The evaluation set for text removal: six kinds of overlay (captions, memes, light and dark
 * watermarks, camera date stamps, drop-shadowed titles) drawn with sharp (SVG through librsvg and
 * Pango) onto the fixture photos, textured crops of them and two synthetic textures. Every image
 * keeps its clean original, the true box of each drawn line and the footprint of what the overlay
 * changed, so a method is scored on whether the photo ends up closer to the original, not only on
 * whether the text is gone. Everything is drawn from seeded choices: the same fonts give the same bytes.
 */

export type OverlayKind = 'caption' | 'meme' | 'watermark' | 'dark-watermark' | 'date-stamp' | 'shadowed'
export const OVERLAY_KINDS: readonly OverlayKind[] = ['caption', 'meme', 'watermark', 'dark-watermark', 'date-stamp', 'shadowed']

/** [x0, y0, x1, y1), in pixels. */
export type Box = [number, number, number, number]

export interface EvalImage {
  name: string
  kind: OverlayKind
  /** Which background (a fixture, a crop of one, or a synthetic texture) it was drawn on. */
  background: string
  clean: Pixels
  overlaid: Pixels
  /** The true box of each drawn line (outline and shadow included), measured from its own alpha > 24. */
  boxes: Box[]
  /** The text of each line, in the order of `boxes`. */
  texts: string[]
  /** 1 channel, 255 where the overlay changed the photo by > 2 levels in some channel, grown by 2 px. */
  footprint: Pixels
}

// ---------------------------------------------------------------------------------------------
// Seeded choices

type Rng = () => number

/** mulberry32, as in images.ts: small, seedable, and the same on every platform. */
function mulberry32(seed: number): Rng {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** FNV-1a, so each image's choices follow from its name alone (building a subset changes nothing). */
function hashSeed(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const range = (r: Rng, a: number, b: number) => a + (b - a) * r()
const pick = <T>(r: Rng, items: readonly T[]): T => items[Math.floor(r() * items.length)]!

// ---------------------------------------------------------------------------------------------
// Backgrounds

type Load = (fixture: string) => Promise<Pixels>
interface Crop {
  left: number
  top: number
  width: number
  height: number
}

async function cropResize(source: Pixels, crop: Crop | null, width: number, height: number): Promise<Pixels> {
  let image = sharp(source.data, { raw: { width: source.width, height: source.height, channels: 3 } })
  if (crop) image = image.extract(crop)
  const { data, info } = await image.resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) }
}

/** Seeded Gaussian grain (Box-Muller), added in place; sharp's own noise has no seed. */
function addGrain(data: Uint8Array, sigma: number, r: Rng, mono: boolean) {
  for (let p = 0; p < data.length; p += 3) {
    const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()) * sigma
    for (let c = 0; c < 3; c++) {
      const n = mono ? g : g * (0.7 + 0.6 * r())
      data[p + c] = Math.min(255, Math.max(0, Math.round(data[p + c]! + n)))
    }
  }
}

async function softened(width: number, height: number, data: Uint8Array, sigma: number): Promise<Pixels> {
  const out = await sharp(data, { raw: { width, height, channels: 3 } })
    .blur(sigma)
    .raw()
    .toBuffer()
  return { width, height, channels: 3, data: new Uint8Array(out) }
}

/** Running-bond brickwork with per-brick colour, mortar and grain: a regular texture with sharp edges. */
async function brick(width: number, height: number): Promise<Pixels> {
  const r = mulberry32(hashSeed('brick'))
  const bw = 72
  const bh = 26
  const rects: string[] = []
  for (let row = 0; row * bh < height; row++)
    for (let col = -1; col * bw < width; col++) {
      const x = col * bw + (row % 2 ? bw / 2 : 0)
      const tone = range(r, -22, 22)
      const red = Math.round(150 + tone + range(r, -8, 8))
      const green = Math.round(72 + tone * 0.6)
      const blue = Math.round(52 + tone * 0.5)
      rects.push(`<rect x="${x + 2}" y="${row * bh + 2}" width="${bw - 4}" height="${bh - 4}" rx="1.5" fill="rgb(${red},${green},${blue})"/>`)
    }
  const mortar = '<rect width="100%" height="100%" fill="#b9b2a4"/>'
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${mortar}${rects.join('')}</svg>`
  const data = new Uint8Array(await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer())
  addGrain(data, 9, r, false)
  return softened(width, height, data, 0.6)
}

/** A sky-like vertical gradient with soft cloudy mottling and film grain: smooth but never flat. */
async function grain(width: number, height: number): Promise<Pixels> {
  const r = mulberry32(hashSeed('grain'))
  const cw = 16
  const ch = 11
  const clouds = new Uint8Array(cw * ch * 3)
  for (let p = 0; p < cw * ch; p++) clouds.fill(Math.round(range(r, 0, 255)), p * 3, p * 3 + 3)
  const mottle = await sharp(clouds, { raw: { width: cw, height: ch, channels: 3 } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    // Blurred well past the grid spacing, so the mottling reads as haze rather than as cells.
    .blur(Math.max(width / cw, height / ch) * 0.6)
    .raw()
    .toBuffer()
  const data = new Uint8Array(width * height * 3)
  const top = [70, 120, 200]
  const bottom = [222, 232, 243]
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3
      const t = y / (height - 1)
      const cloud = (mottle[p]! - 128) / 128
      for (let c = 0; c < 3; c++) data[p + c] = Math.min(255, Math.max(0, Math.round(top[c]! + (bottom[c]! - top[c]!) * t + 40 * cloud)))
    }
  addGrain(data, 6, r, true)
  return softened(width, height, data, 0.5)
}

const crop = (fixture: string, rect: Crop | null, width: number, height: number) => async (load: Load) => cropResize(await load(fixture), rect, width, height)
const whole = (fixture: string) => (load: Load) => load(fixture)

/**
 * 24 backgrounds: the four photos whole, resized down and up, and crops of their textures
 * (fur, bokeh, grass, sky, city, coat, wood, saucer, flag, spacesuit, backdrop, helmet), upscaled
 * or stretched so long sides run from 320 to 1000 px; plus synthetic brick and grain.
 */
const BACKGROUNDS: Record<string, (load: Load) => Promise<Pixels>> = {
  astronaut: whole('astronaut.png'),
  camera: whole('camera.png'),
  chelsea: whole('chelsea.png'),
  coffee: whole('coffee.png'),
  'astronaut-small': crop('astronaut.png', null, 320, 320),
  'coffee-large': crop('coffee.png', null, 1000, 667),
  'chelsea-large': crop('chelsea.png', null, 902, 600),
  'chelsea-fur': crop('chelsea.png', { left: 10, top: 0, width: 200, height: 140 }, 400, 280),
  'chelsea-bokeh': crop('chelsea.png', { left: 370, top: 40, width: 81, height: 200 }, 243, 600),
  'chelsea-eye': crop('chelsea.png', { left: 110, top: 50, width: 260, height: 150 }, 650, 375),
  'camera-grass': crop('camera.png', { left: 150, top: 300, width: 362, height: 200 }, 905, 500),
  'camera-grass-small': crop('camera.png', { left: 350, top: 236, width: 162, height: 120 }, 324, 240),
  'camera-sky': crop('camera.png', { left: 250, top: 0, width: 262, height: 110 }, 996, 418),
  'camera-city': crop('camera.png', { left: 300, top: 150, width: 212, height: 90 }, 848, 360),
  'camera-coat': crop('camera.png', { left: 0, top: 260, width: 150, height: 252 }, 300, 504),
  'coffee-wood': crop('coffee.png', { left: 460, top: 40, width: 140, height: 360 }, 350, 900),
  'coffee-wood-strip': crop('coffee.png', { left: 400, top: 0, width: 200, height: 120 }, 600, 360),
  'coffee-saucer': crop('coffee.png', { left: 80, top: 230, width: 260, height: 160 }, 520, 320),
  'astronaut-flag': crop('astronaut.png', { left: 0, top: 0, width: 110, height: 330 }, 275, 825),
  'astronaut-suit': crop('astronaut.png', { left: 20, top: 270, width: 240, height: 242 }, 480, 484),
  'astronaut-backdrop': crop('astronaut.png', { left: 290, top: 0, width: 70, height: 200 }, 480, 640),
  'astronaut-helmet': crop('astronaut.png', { left: 280, top: 340, width: 232, height: 172 }, 464, 344),
  brick: () => brick(640, 480),
  grain: () => grain(760, 500),
}

// ---------------------------------------------------------------------------------------------
// Overlays

interface Line {
  text: string
  /** Anchor point: x per `anchor`, y on the baseline. */
  x: number
  y: number
  size: number
  font: string
  weight: number | 'bold'
  italic?: boolean
  condensed?: boolean
  anchor: 'start' | 'middle' | 'end'
  fill: string
  /** Opacity of the whole line (fill, outline and shadow together), as a watermark is blended. */
  opacity?: number
  stroke?: { colour: string; width: number }
  shadow?: { dx: number; dy: number; colour: string; opacity: number; blur?: number }
  /** Degrees, about the middle of the line. */
  rotate?: number
}

const SANS = 'DejaVu Sans'
const SERIF = 'DejaVu Serif'
const MONO = 'DejaVu Sans Mono'

const CAPTIONS: [string, string][] = [
  ['Summer holidays 2019', 'Lake Garda, Italy'],
  ["Grandma's 80th birthday", 'with all the grandchildren'],
  ['Our first day in the new house', 'October 2012'],
  ['Merry Christmas from all of us!', 'The Millers'],
  ['Class of 1998 reunion', 'twenty years on'],
  ['Road trip, day 3', 'somewhere in Nevada'],
  ['Sunday lunch at the farm', 'June 1987'],
  ['Best friends forever', 'Anna & Tom, 2004'],
]
const MEMES: [string, string][] = [
  ['WHEN THE COFFEE', 'FINALLY KICKS IN'],
  ['ONE DOES NOT SIMPLY', 'REMOVE A WATERMARK'],
  ['ME AT 7 AM', 'BEFORE MY COFFEE'],
  ['NOBODY:', 'ABSOLUTELY NOBODY:'],
  ['I SEE WHAT', 'YOU DID THERE'],
  ['SUCH TEXTURE', 'MUCH GRAIN. WOW'],
  ['KEEP CALM', 'AND RESTORE PHOTOS'],
  ['MONDAY AGAIN?', 'SERIOUSLY?'],
]
const WATERMARKS = [
  '© stockphoto.example',
  '© 2021 Studio Lumière',
  'stockphoto.example',
  'PREVIEW · stockphoto.example',
  '© photos.example.com',
  'Proof - not for sale',
  '© J. Smith Photography',
  'SAMPLE',
]
const DATES = ["'19 08 24 16:32", "'98 12 25", '2003/07/14', '12.05.2007 09:41', "'05 3 11", '2011-06-30 18:05', "08 24 '19", "'01 1 01 00:00"]
const TITLES: [string, string][] = [
  ['Happy Birthday!', 'Lucy is 7'],
  ['Best day ever', 'July 2016'],
  ['Greetings from Rome', 'wish you were here'],
  ['Love you, Mum', 'xoxo'],
  ['Welcome home!', 'we missed you'],
  ['Cheers!', 'to the next 10 years'],
  ['Spring 2020', 'in the garden'],
  ['Game night', 'Friday 8 pm'],
]
/** Red, blue and yellow first: the colours a detector tuned on white text most often misses. */
const TITLE_COLOURS = ['#e8231f', '#1f5bff', '#ffd400', '#22c55e', '#ff3fb4', '#ff7f00', '#00c8ff', '#ffffff']
const STAMP_COLOURS = ['#ff8c1a', '#ffa21f', '#ffb000', '#ffd21a', '#ff7a00']

/** A font size that fits `chars` characters of about `em` x size each into `room` px, within 12..max (the set's 12-80 px). */
const fitSize = (wanted: number, room: number, chars: number, em: number, max: number) => Math.min(max, wanted, room / (chars * em))
const px = (size: number) => Math.max(12, Math.round(size))

type Layout = (width: number, height: number, r: Rng, index: number, scale: number) => Line[]

const LAYOUTS: Record<OverlayKind, Layout> = {
  // White bold text with a black outline at the bottom, one or two lines, centred or left.
  caption: (w, h, r, index, scale) => {
    const [first, second] = CAPTIONS[index % CAPTIONS.length]!
    const style = pick(r, [{ font: SANS }, { font: SANS, condensed: true }, { font: SERIF }, { font: SANS, italic: true }])
    const lines = r() < 0.55 ? [first, second] : [first]
    const chars = Math.max(...lines.map((l) => l.length))
    const size = px(fitSize(h * range(r, 0.055, 0.09), w * 0.88, chars, 0.62, 44) * scale)
    const centred = r() < 0.6
    const x = Math.round(centred ? w / 2 : w * range(r, 0.03, 0.07))
    const bottom = h - Math.max(4, h * range(r, 0.025, 0.06)) - size * 0.25
    const step = size * 1.25
    return lines.map((text, i) => ({
      text,
      x,
      y: Math.round(bottom - (lines.length - 1 - i) * step),
      size: i === 0 ? size : px(size * 0.85),
      weight: 'bold' as const,
      anchor: centred ? ('middle' as const) : ('start' as const),
      fill: '#ffffff',
      stroke: { colour: '#000000', width: Math.max(1.5, size / 9) },
      ...style,
    }))
  },
  // Impact-like: big condensed bold capitals, white with a thick black outline, top and bottom.
  meme: (w, h, r, index, scale) => {
    const pair = MEMES[index % MEMES.length]!
    const wanted = h * range(r, 0.1, 0.15)
    return pair.map((text, i) => {
      const size = px(fitSize(wanted, w * 0.92, text.length, 0.62, 80) * scale)
      const stroke = Math.max(2, size * 0.16)
      const margin = Math.max(4, h * 0.025) + stroke / 2
      return {
        text: text.toUpperCase(),
        x: Math.round(w / 2),
        y: Math.round(i === 0 ? margin + size * 0.75 : h - margin - size * 0.06),
        size,
        font: SANS,
        condensed: true,
        weight: 'bold' as const,
        anchor: 'middle' as const,
        fill: '#ffffff',
        stroke: { colour: '#000000', width: stroke },
      }
    })
  },
  watermark: (w, h, r, index, scale) => watermark(w, h, r, index, scale, '#ffffff'),
  'dark-watermark': (w, h, r, index, scale) => watermark(w, h, r, index, scale, pick(r, ['#000000', '#141414', '#262626', '#3a3a3a'])),
  // An orange or yellow monospace camera stamp in a corner (mostly bottom right), with or without a 1 px shadow.
  'date-stamp': (w, h, r, index, scale) => {
    const text = DATES[index % DATES.length]!
    const size = px(fitSize(Math.min(w, h) * range(r, 0.045, 0.065), w * 0.7, text.length, 0.61, 28) * scale)
    const corner = r() < 0.6 ? 'br' : pick(r, ['bl', 'tr', 'tl'])
    const margin = Math.round(size * range(r, 0.6, 1.2))
    const right = corner.endsWith('r')
    const bottom = corner.startsWith('b')
    return [
      {
        text,
        x: right ? w - margin : margin,
        y: Math.round(bottom ? h - margin - size * 0.2 : margin + size * 0.75),
        size,
        font: MONO,
        weight: r() < 0.5 ? ('bold' as const) : 400,
        anchor: right ? ('end' as const) : ('start' as const),
        fill: pick(r, STAMP_COLOURS),
        shadow: index % 2 ? { dx: 1, dy: 1, colour: '#2a1400', opacity: 0.85 } : undefined,
      },
    ]
  },
  // A coloured title with a drop shadow over the subject, sometimes with a smaller second line.
  shadowed: (w, h, r, index, scale) => {
    const [first, second] = TITLES[index % TITLES.length]!
    const style = pick(r, [{ font: SANS }, { font: SERIF }, { font: SANS, italic: true }, { font: SANS, condensed: true }])
    const lines = r() < 0.45 ? [first, second] : [first]
    const size = px(fitSize(h * range(r, 0.09, 0.16), w * 0.85, first.length, 0.64, 80) * scale)
    const sizes = [size, px(Math.min(size * 0.6, (w * 0.85) / (second.length * 0.64)))]
    const x = Math.round(w * range(r, 0.45, 0.55))
    const y = h * range(r, 0.38, 0.55)
    const offset = Math.max(2, Math.round(size * range(r, 0.04, 0.08)))
    const shadow = { dx: offset, dy: offset, colour: '#000000', opacity: range(r, 0.55, 0.85), blur: r() < 0.5 ? Math.max(1, offset / 2) : undefined }
    const rotate = r() < 0.3 ? range(r, -8, 8) : undefined
    return lines.map((text, i) => ({
      text,
      x,
      y: Math.round(y + i * size * 1.05),
      size: sizes[i]!,
      weight: 'bold' as const,
      anchor: 'middle' as const,
      fill: TITLE_COLOURS[index % TITLE_COLOURS.length]!,
      shadow,
      rotate,
      ...style,
    }))
  },
}

/** Thin serif or light sans across the middle at 40-70 %, sometimes rotated, sometimes tiled twice. */
function watermark(w: number, h: number, r: Rng, index: number, scale: number, fill: string): Line[] {
  const text = WATERMARKS[index % WATERMARKS.length]!
  const style = pick(r, [
    { font: SERIF, weight: 400 },
    { font: SERIF, weight: 400, italic: true },
    { font: SANS, weight: 200 },
    { font: SERIF, weight: 400, condensed: true },
  ])
  const opacity = Math.round(range(r, 0.4, 0.7) * 100) / 100
  const rotate = r() < 0.5 ? range(r, -18, 18) : undefined
  const tiled = index % 3 === 1
  const size = px(fitSize(Math.min(w, h) * range(r, 0.07, 0.13), w * (rotate ? 0.75 : 0.88), text.length, 0.6, 60) * scale * (tiled ? 0.85 : 1))
  const spots = tiled
    ? [
        [w * range(r, 0.42, 0.5), h * 0.3],
        [w * range(r, 0.5, 0.58), h * 0.72],
      ]
    : [[w / 2, h * range(r, 0.42, 0.6)]]
  return spots.map(([x, y]) => ({ text, x: Math.round(x!), y: Math.round(y! + size * 0.35), size, anchor: 'middle' as const, fill, opacity, rotate, ...style }))
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function lineSvg(line: Line, id: number): { defs: string; body: string } {
  const attrs = [
    `x="${line.x}" y="${line.y}" font-family="${line.font}" font-size="${line.size}" font-weight="${line.weight}" text-anchor="${line.anchor}"`,
    line.italic ? ' font-style="italic"' : '',
    line.condensed ? ' font-stretch="condensed"' : '',
  ].join('')
  const text = escapeXml(line.text)
  let defs = ''
  let shadow = ''
  if (line.shadow) {
    const s = line.shadow
    if (s.blur) defs = `<filter id="b${id}" x="-10%" y="-40%" width="120%" height="180%"><feGaussianBlur stdDeviation="${s.blur.toFixed(2)}"/></filter>`
    const filter = s.blur ? ` filter="url(#b${id})"` : ''
    shadow = `<g transform="translate(${s.dx} ${s.dy})"><text ${attrs} fill="${s.colour}" fill-opacity="${s.opacity.toFixed(2)}"${filter}>${text}</text></g>`
  }
  const stroke = line.stroke
    ? ` stroke="${line.stroke.colour}" stroke-width="${line.stroke.width.toFixed(1)}" stroke-linejoin="round" paint-order="stroke"`
    : ''
  const group = [
    line.opacity !== undefined ? ` opacity="${line.opacity}"` : '',
    // About the middle of the line's x-height band: rotated watermarks stay centred.
    line.rotate ? ` transform="rotate(${line.rotate.toFixed(1)} ${line.x} ${Math.round(line.y - line.size * 0.35)})"` : '',
  ].join('')
  return { defs, body: `<g${group}>${shadow}<text ${attrs} fill="${line.fill}"${stroke}>${text}</text></g>` }
}

function overlaySvg(width: number, height: number, lines: Line[]): Buffer {
  const parts = lines.map((line, i) => lineSvg(line, i))
  const defs = parts.map((p) => p.defs).join('')
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `${defs ? `<defs>${defs}</defs>` : ''}${parts.map((p) => p.body).join('')}</svg>`,
  )
}

/** A line's own box: where its rendering alone (outline and shadow included) has alpha > 24. */
async function lineBox(width: number, height: number, line: Line): Promise<Box> {
  const alpha = await sharp(overlaySvg(width, height, [line]))
    .ensureAlpha()
    .extractChannel(3)
    .raw()
    .toBuffer()
  let x0 = width
  let y0 = height
  let x1 = 0
  let y1 = 0
  for (let y = 0; y < height; y++) {
    const row = y * width
    for (let x = 0; x < width; x++)
      if (alpha[row + x]! > 24) {
        if (x < x0) x0 = x
        if (x >= x1) x1 = x + 1
        if (y < y0) y0 = y
        y1 = y + 1
      }
  }
  return x1 > x0 ? [x0, y0, x1, y1] : [0, 0, 0, 0]
}

/** Lays a kind's lines out, shrinking them until every line lies inside the image with a pixel to spare. */
async function placeLines(kind: OverlayKind, width: number, height: number, seed: number, index: number) {
  let scale = 1
  for (let attempt = 0; attempt < 12; attempt++) {
    // The same seed on every attempt: only the scale changes, not the choices.
    const lines = LAYOUTS[kind](width, height, mulberry32(seed), index, scale)
    const boxes = await Promise.all(lines.map((line) => lineBox(width, height, line)))
    if (boxes.every((b) => b[2] > b[0] && b[0] >= 1 && b[1] >= 1 && b[2] <= width - 1 && b[3] <= height - 1)) return { lines, boxes }
    scale *= 0.88
  }
  throw new Error(`${kind} text does not fit a ${width}x${height} image`)
}

/** Where any channel differs by > 2 levels, grown by 2 px (a 5x5 square, as two separable passes). */
function footprintOf(clean: Pixels, overlaid: Pixels): Pixels {
  const { width, height } = clean
  const a = clean.data
  const b = overlaid.data
  const changed = new Uint8Array(width * height)
  for (let p = 0, i = 0; p < changed.length; p++, i += 3) {
    const d0 = a[i]! - b[i]!
    const d1 = a[i + 1]! - b[i + 1]!
    const d2 = a[i + 2]! - b[i + 2]!
    if (d0 > 2 || d0 < -2 || d1 > 2 || d1 < -2 || d2 > 2 || d2 < -2) changed[p] = 1
  }
  return { width, height, channels: 1, data: dilate(changed, width, height, 2) }
}

/** 255 within `radius` px (Chebyshev) of a set pixel: per row, then per column, the distance to the nearest set pixel either side. */
function dilate(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const pass = (src: Uint8Array, lines: number, length: number, at: (line: number, k: number) => number) => {
    const out = new Uint8Array(src.length)
    for (let line = 0; line < lines; line++) {
      let last = -Infinity
      for (let k = 0; k < length; k++) {
        if (src[at(line, k)]) last = k
        if (k - last <= radius) out[at(line, k)] = 255
      }
      last = Infinity
      for (let k = length - 1; k >= 0; k--) {
        if (src[at(line, k)]) last = k
        if (last - k <= radius) out[at(line, k)] = 255
      }
    }
    return out
  }
  const rows = pass(mask, height, width, (y, x) => y * width + x)
  return pass(rows, width, height, (x, y) => y * width + x)
}

// ---------------------------------------------------------------------------------------------
// The set

/** Which backgrounds each kind is drawn on: 8 each, mixing whole photos (over the subject) and textures. */
const PLAN: Record<OverlayKind, string[]> = {
  caption: ['astronaut', 'chelsea', 'coffee-large', 'camera-grass', 'coffee-saucer', 'brick', 'astronaut-small', 'camera-city'],
  meme: ['camera', 'coffee', 'chelsea-large', 'chelsea-eye', 'astronaut-suit', 'camera-sky', 'grain', 'coffee-wood'],
  watermark: ['chelsea-fur', 'camera-grass-small', 'coffee-wood', 'astronaut-helmet', 'camera-coat', 'brick', 'coffee-large', 'astronaut'],
  'dark-watermark': ['camera-sky', 'astronaut-backdrop', 'chelsea-bokeh', 'coffee-saucer', 'grain', 'chelsea-fur', 'camera-grass', 'coffee-wood-strip'],
  'date-stamp': ['coffee', 'camera', 'chelsea', 'astronaut-flag', 'camera-city', 'chelsea-eye', 'coffee-wood-strip', 'astronaut-small'],
  shadowed: ['astronaut', 'chelsea-eye', 'coffee', 'astronaut-suit', 'camera-grass-small', 'chelsea-large', 'grain', 'astronaut-backdrop'],
}

/** Every image's name, kind and background, in build order (the set without drawing it). */
export const EVAL_IMAGES: readonly { name: string; kind: OverlayKind; background: string; index: number }[] = OVERLAY_KINDS.flatMap((kind) =>
  PLAN[kind].map((background, index) => ({ name: `${kind}-${background}`, kind, background, index })),
)

/** The CI quality gate's images: 2 per kind, about 2.2 MP in all, over both subjects and textures. */
export const EVAL_SUBSET: readonly string[] = [
  'caption-astronaut',
  'caption-chelsea',
  'meme-coffee',
  'meme-camera',
  'watermark-chelsea-fur',
  'watermark-camera-coat',
  'dark-watermark-coffee-saucer',
  'dark-watermark-chelsea-bokeh',
  'date-stamp-chelsea',
  'date-stamp-astronaut-small',
  'shadowed-astronaut',
  'shadowed-chelsea-eye',
]

export async function buildEvalSet(options: { subset?: boolean; names?: string[] } = {}): Promise<EvalImage[]> {
  const wanted = new Set(options.names ?? (options.subset ? EVAL_SUBSET : EVAL_IMAGES.map((e) => e.name)))
  if (options.subset && options.names) for (const name of options.names) if (!EVAL_SUBSET.includes(name)) wanted.delete(name)
  const unknown = [...wanted].filter((name) => !EVAL_IMAGES.some((e) => e.name === name))
  if (unknown.length) throw new Error(`unknown evaluation images: ${unknown.join(', ')}`)
  // Each fixture is decoded once and each background made once per build, however many images use it.
  const fixtures = new Map<string, Promise<Pixels>>()
  const load: Load = (name) => fixtures.get(name) ?? fixtures.set(name, loadRgb(name)).get(name)!
  const backgrounds = new Map<string, Promise<Pixels>>()
  const images: EvalImage[] = []
  for (const spec of EVAL_IMAGES) {
    if (!wanted.has(spec.name)) continue
    if (!backgrounds.has(spec.background)) backgrounds.set(spec.background, BACKGROUNDS[spec.background]!(load))
    const background = await backgrounds.get(spec.background)!
    const clean: Pixels = { ...background, data: new Uint8Array(background.data) }
    const { width, height } = clean
    const { lines, boxes } = await placeLines(spec.kind, width, height, hashSeed(spec.name), spec.index)
    const data = await sharp(clean.data, { raw: { width, height, channels: 3 } })
      .composite([{ input: overlaySvg(width, height, lines) }])
      .removeAlpha()
      .raw()
      .toBuffer()
    const overlaid: Pixels = { width, height, channels: 3, data: new Uint8Array(data) }
    images.push({
      name: spec.name,
      kind: spec.kind,
      background: spec.background,
      clean,
      overlaid,
      boxes,
      texts: lines.map((l) => l.text),
      footprint: footprintOf(clean, overlaid),
    })
  }
  return images
}

// ---------------------------------------------------------------------------------------------
// Metrics

const CAP = 99

function sameSize(a: Pixels, b: Pixels) {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size mismatch ${a.width}x${a.height} vs ${b.width}x${b.height}`)
}

const toDb = (sum: number, count: number) => (count === 0 || sum === 0 ? CAP : Math.min(CAP, 10 * Math.log10((255 * 255 * count) / sum)))

/** PSNR in dB over all RGB values; 99 for identical images (a finite number averages and prints). */
export function psnr(a: Pixels, b: Pixels): number {
  sameSize(a, b)
  let sum = 0
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!
    sum += d * d
  }
  return toDb(sum, a.data.length)
}

/** PSNR over the footprint only: how close the repaired pixels are, undiluted by the untouched rest. */
export function footprintPsnr(result: Pixels, clean: Pixels, footprint: Pixels): number {
  sameSize(result, clean)
  let sum = 0
  let count = 0
  for (let p = 0; p < footprint.data.length; p++) {
    if (!footprint.data[p]) continue
    for (let c = 0; c < 3; c++) {
      const d = result.data[p * 3 + c]! - clean.data[p * 3 + c]!
      sum += d * d
    }
    count += 3
  }
  return toDb(sum, count)
}

const maxDiff = (a: Uint8Array, b: Uint8Array, p: number) =>
  Math.max(Math.abs(a[p * 3]! - b[p * 3]!), Math.abs(a[p * 3 + 1]! - b[p * 3 + 1]!), Math.abs(a[p * 3 + 2]! - b[p * 3 + 2]!))

/**
 * The share of the text still there: of the footprint pixels the overlay changed by > 8 levels,
 * those whose result is still within 8 levels of the overlaid input in every channel. 0 when
 * the overlay changed nothing visibly.
 */
export function textLeft(result: Pixels, overlaid: Pixels, clean: Pixels, footprint: Pixels): number {
  sameSize(result, overlaid)
  sameSize(result, clean)
  let text = 0
  let left = 0
  for (let p = 0; p < footprint.data.length; p++) {
    if (!footprint.data[p] || maxDiff(overlaid.data, clean.data, p) <= 8) continue
    text++
    if (maxDiff(result.data, overlaid.data, p) <= 8) left++
  }
  return text ? left / text : 0
}

const area = (b: Box) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1])

function intersect(a: Box, b: Box): Box {
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])]
}

export function iou(a: Box, b: Box): number {
  const inter = area(intersect(a, b))
  return inter ? inter / (area(a) + area(b) - inter) : 0
}

/** Exact area of a union of boxes (sweep over the distinct x edges, merging y intervals in each slab). */
export function unionArea(boxes: Box[]): number {
  const live = boxes.filter((b) => area(b) > 0)
  const xs = [...new Set(live.flatMap((b) => [b[0], b[2]]))].sort((a, b) => a - b)
  let total = 0
  for (let i = 0; i + 1 < xs.length; i++) {
    const [left, right] = [xs[i]!, xs[i + 1]!]
    const spans = live
      .filter((b) => b[0] <= left && b[2] >= right)
      .map((b) => [b[1], b[3]] as const)
      .sort((a, b) => a[0] - b[0])
    let covered = 0
    let end = -Infinity
    for (const [y0, y1] of spans) {
      if (y1 <= end) continue
      covered += y1 - Math.max(y0, end)
      end = y1
    }
    total += covered * (right - left)
  }
  return total
}

/** A detection counts towards a split match when at least this share of it lies inside the true box. */
const INSIDE = 0.5

/**
 * Whether a true line was found: one detection at IoU >= 0.5, or several (a line a detector split
 * into words) that each lie mostly inside it, cover >= 70 % of it together, and together are no
 * larger than 1.5x its area (so one huge box does not count).
 */
export function matched(truth: Box, detected: Box[]): boolean {
  if (detected.some((d) => iou(d, truth) >= 0.5)) return true
  const parts = detected.filter((d) => area(d) > 0 && area(intersect(d, truth)) >= INSIDE * area(d))
  if (!parts.length) return false
  const cover = unionArea(parts.map((d) => intersect(d, truth))) / area(truth)
  return cover >= 0.7 && unionArea(parts) <= 1.5 * area(truth)
}

/** The share of true boxes matched (1 when there are none to find). */
export function recall(detected: Box[], truth: Box[]): number {
  if (!truth.length) return 1
  return truth.filter((t) => matched(t, detected)).length / truth.length
}

export interface EvalRow {
  name: string
  kind: OverlayKind
  /** Overlaid vs clean, dB. */
  inputPsnr: number
  /** Result vs clean, dB. */
  outputPsnr: number
  /** outputPsnr - inputPsnr: > 0 when the photo got closer to the original. */
  gain: number
  footprintPsnr: number
  inputFootprintPsnr: number
  textLeft: number
  recall: number
}

export function evaluate(image: EvalImage, result: Pixels, detectedBoxes: Box[]): EvalRow {
  const inputPsnr = psnr(image.overlaid, image.clean)
  const outputPsnr = psnr(result, image.clean)
  return {
    name: image.name,
    kind: image.kind,
    inputPsnr,
    outputPsnr,
    gain: outputPsnr - inputPsnr,
    footprintPsnr: footprintPsnr(result, image.clean, image.footprint),
    inputFootprintPsnr: footprintPsnr(image.overlaid, image.clean, image.footprint),
    textLeft: textLeft(result, image.overlaid, image.clean, image.footprint),
    recall: recall(detectedBoxes, image.boxes),
  }
}

export interface SummaryRow {
  kind: OverlayKind | 'all'
  images: number
  inputPsnr: number
  outputPsnr: number
  gain: number
  footprintPsnr: number
  inputFootprintPsnr: number
  textLeft: number
  recall: number
  /** The lowest gain of any image, and which. */
  worstGain: number
  worstName: string
  /** Images the method made worse than the input (gain < 0). */
  worse: number
}

export interface EvalSummary {
  /** Per kind, in OVERLAY_KINDS order, for the kinds present. */
  byKind: SummaryRow[]
  overall: SummaryRow
}

function summaryOf(kind: SummaryRow['kind'], rows: EvalRow[]): SummaryRow {
  const mean = (key: 'inputPsnr' | 'outputPsnr' | 'gain' | 'footprintPsnr' | 'inputFootprintPsnr' | 'textLeft' | 'recall') =>
    rows.reduce((sum, row) => sum + row[key], 0) / rows.length
  const worst = rows.reduce((a, b) => (b.gain < a.gain ? b : a))
  return {
    kind,
    images: rows.length,
    inputPsnr: mean('inputPsnr'),
    outputPsnr: mean('outputPsnr'),
    gain: mean('gain'),
    footprintPsnr: mean('footprintPsnr'),
    inputFootprintPsnr: mean('inputFootprintPsnr'),
    textLeft: mean('textLeft'),
    recall: mean('recall'),
    worstGain: worst.gain,
    worstName: worst.name,
    worse: rows.filter((row) => row.gain < 0).length,
  }
}

export function summarize(rows: EvalRow[]): EvalSummary {
  if (!rows.length) throw new Error('nothing to summarize')
  const byKind = OVERLAY_KINDS.map((kind) => rows.filter((row) => row.kind === kind))
    .filter((group) => group.length)
    .map((group) => summaryOf(group[0]!.kind, group))
  return { byKind, overall: summaryOf('all', rows) }
}

export function markdownTable(summary: EvalSummary): string {
  const header = '| kind | images | PSNR in → out (dB) | gain (dB) | worst gain (dB) | worse | footprint PSNR in → out (dB) | text left | recall |'
  const rule = '|---|--:|--:|--:|--:|--:|--:|--:|--:|'
  const line = (s: SummaryRow) =>
    `| ${s.kind} | ${s.images} | ${s.inputPsnr.toFixed(2)} → ${s.outputPsnr.toFixed(2)} | ${s.gain.toFixed(2)} | ` +
    `${s.worstGain.toFixed(2)} (${s.worstName}) | ${s.worse} | ${s.inputFootprintPsnr.toFixed(2)} → ${s.footprintPsnr.toFixed(2)} | ` +
    `${(100 * s.textLeft).toFixed(1)} % | ${(100 * s.recall).toFixed(1)} % |`
  return [header, rule, ...summary.byKind.map(line), line(summary.overall)].join('\n')
}

// ---------------------------------------------------------------------------------------------
// Artifacts

const toRgb = (mask: Pixels) => {
  if (mask.channels === 3) return mask.data
  const rgb = new Uint8Array(mask.width * mask.height * 3)
  for (let p = 0; p < mask.width * mask.height; p++) rgb.fill(mask.data[p * mask.channels]! ? 255 : 0, p * 3, p * 3 + 3)
  return rgb
}

/**
 * Writes `<dir>/<name>.png`: overlaid | result | clean, and with a mask a second row of
 * mask | true footprint | |result - clean| x4, for looking at what a method did. Returns the path.
 */
export async function saveArtifacts(dir: string, image: EvalImage, result: Pixels, mask?: Pixels): Promise<string> {
  const { width, height } = image.clean
  const gap = 4
  const tiles: { data: Uint8Array; left: number; top: number }[] = [
    { data: image.overlaid.data, left: 0, top: 0 },
    { data: result.data, left: width + gap, top: 0 },
    { data: image.clean.data, left: 2 * (width + gap), top: 0 },
  ]
  if (mask) {
    const diff = new Uint8Array(result.data.length)
    for (let i = 0; i < diff.length; i++) diff[i] = Math.min(255, 4 * Math.abs(result.data[i]! - image.clean.data[i]!))
    const top = height + gap
    tiles.push({ data: toRgb(mask), left: 0, top }, { data: toRgb(image.footprint), left: width + gap, top }, { data: diff, left: 2 * (width + gap), top })
  }
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${image.name}.png`)
  await sharp({ create: { width: 3 * width + 2 * gap, height: mask ? 2 * height + gap : height, channels: 3, background: '#808080' } })
    .composite(
      tiles.map((t) => ({
        input: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        raw: { width, height, channels: 3 },
        left: t.left,
        top: t.top,
      })),
    )
    .png()
    .toFile(path)
  return path
}
