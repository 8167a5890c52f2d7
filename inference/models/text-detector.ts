import type { InferenceSession } from 'onnxruntime-node'
import * as ort from 'onnxruntime-node'
import type { Pixels } from '../runtime/image'

/**
 * PP-OCRv4 text detection (a DB "differentiable binarisation" network) and its post-processing:
 * probability map -> binary map -> connected regions -> scored, expanded boxes in image pixels.
 */
export interface DetectorOptions {
  /** Longest side the network sees; larger images are shrunk to it (kept in multiples of 32). */
  limitSide: number
  /** How far a smaller image may be enlarged towards limitSide (1: never; small faint text reads better enlarged). */
  maxScale?: number
  /** Probability above which a pixel counts as text. */
  binaryThreshold: number
  /** Mean probability a region needs to be reported as a box. */
  boxThreshold: number
  /** How far boxes grow around their region (DB's unclip ratio), since DB shrinks text regions in training. */
  unclipRatio: number
  /** Regions smaller than this (in network pixels, shorter side) are noise. */
  minSize: number
  /** Share of its bounding box a region must fill to count as text. */
  minFill: number
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = { limitSide: 960, binaryThreshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.6, minSize: 3, minFill: 0.3 }

export interface TextBox {
  /** Axis-aligned box in image pixels: [x0, y0, x1, y1), clipped to the image. */
  box: [number, number, number, number]
  score: number
  /**
   * Where inside the box the network saw this line: its binarised probability (1 = text), box-sized
   * at image resolution, still shrunk as DB marks lines; `grow` is how far (image pixels) the line
   * reaches beyond it. A tilted line fills a band of its upright box, and the letter mask keeps to it.
   */
  band?: { data: Uint8Array; grow: number; height?: number }
  /**
   * A tilted line (a rotated watermark) as the rectangle along it, in image pixels, grown as the box:
   * its centre, its length and thickness, and its angle (radians, clockwise as y points down). The
   * recogniser reads along it; upright lines have none and are read in their box.
   */
  line?: TiltedLine
}

export interface TiltedLine {
  cx: number
  cy: number
  length: number
  thickness: number
  angle: number
}

/** Lines tilted less than this (radians, about 4 degrees) are treated as upright: their box is their rectangle. */
const UPRIGHT = 0.07

// PaddleOCR feeds its detector BGR pixels normalised with these ImageNet statistics.
const MEAN = [0.485, 0.456, 0.406]
const STD = [0.229, 0.224, 0.225]

export async function detectText(session: InferenceSession, image: Pixels, options: DetectorOptions = DEFAULT_DETECTOR_OPTIONS): Promise<TextBox[]> {
  const ratio = Math.min(options.maxScale ?? 1, options.limitSide / Math.max(image.width, image.height))
  const netW = Math.max(32, Math.round((image.width * ratio) / 32) * 32)
  const netH = Math.max(32, Math.round((image.height * ratio) / 32) * 32)
  const input = toNetworkInput(image, netW, netH)
  const output = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, netH, netW]) })
  const probability = output[session.outputNames[0]!]!.data as Float32Array
  const sx = image.width / netW
  const sy = image.height / netH
  return regions(probability, netW, netH, options).map(({ x0, y0, x1, y1, score, label, id, tilt }) => {
    let box: TextBox['box']
    let line: TiltedLine | undefined
    let grow: number
    if (!tilt) {
      // Unclip: grow by area * ratio / perimeter, as DB post-processing does for its shrunk regions.
      const w = x1 - x0
      const h = y1 - y0
      grow = (w * h * options.unclipRatio) / (2 * (w + h))
      box = [
        clamp(Math.floor((x0 - grow) * sx), 0, image.width),
        clamp(Math.floor((y0 - grow) * sy), 0, image.height),
        clamp(Math.ceil((x1 + grow) * sx), 0, image.width),
        clamp(Math.ceil((y1 + grow) * sy), 0, image.height),
      ]
    } else {
      // The same unclip on the rectangle along the line; the box is the grown rectangle's bounds.
      grow = (tilt.length * tilt.thickness * options.unclipRatio) / (2 * (tilt.length + tilt.thickness))
      const length = tilt.length + 2 * grow
      const thickness = tilt.thickness + 2 * grow
      const [c, s] = [Math.cos(tilt.angle), Math.sin(tilt.angle)]
      const halfW = (Math.abs(c) * length + Math.abs(s) * thickness) / 2
      const halfH = (Math.abs(s) * length + Math.abs(c) * thickness) / 2
      box = [
        clamp(Math.floor((tilt.cx - halfW) * sx), 0, image.width),
        clamp(Math.floor((tilt.cy - halfH) * sy), 0, image.height),
        clamp(Math.ceil((tilt.cx + halfW) * sx), 0, image.width),
        clamp(Math.ceil((tilt.cy + halfH) * sy), 0, image.height),
      ]
      // Network to image pixels: sx and sy differ by under a pixel's rounding, so the angle keeps.
      line = { cx: tilt.cx * sx, cy: tilt.cy * sy, length: length * sx, thickness: thickness * sy, angle: tilt.angle }
    }
    // This region's own pixels of the map (not a neighbouring line's), sampled at image resolution over the box.
    const bw = box[2] - box[0]
    const bh = box[3] - box[1]
    const band = new Uint8Array(Math.max(0, bw * bh))
    for (let y = 0; y < bh; y++) {
      const ny = Math.min(netH - 1, Math.floor((box[1] + y + 0.5) / sy))
      for (let x = 0; x < bw; x++) band[y * bw + x] = label[ny * netW + Math.min(netW - 1, Math.floor((box[0] + x + 0.5) / sx))] === id ? 1 : 0
    }
    return {
      score,
      box,
      band: { data: band, grow: Math.ceil(grow * Math.max(sx, sy)), ...(line ? { height: line.thickness } : {}) },
      ...(line ? { line } : {}),
    }
  })
}

/** Bilinear resize to the network size, HWC RGB bytes -> CHW BGR normalised floats (sample positions per column computed once). */
function toNetworkInput(image: Pixels, netW: number, netH: number): Float32Array {
  const out = new Float32Array(3 * netW * netH)
  const plane = netW * netH
  const { width, height, data, channels } = image
  const left = new Int32Array(netW)
  const right = new Int32Array(netW)
  const weight = new Float64Array(netW)
  for (let x = 0; x < netW; x++) {
    const fx = Math.min(width - 1, Math.max(0, ((x + 0.5) * width) / netW - 0.5))
    left[x] = Math.floor(fx)
    right[x] = Math.min(width - 1, left[x]! + 1)
    weight[x] = fx - left[x]!
  }
  for (let y = 0; y < netH; y++) {
    const fy = Math.min(height - 1, Math.max(0, ((y + 0.5) * height) / netH - 0.5))
    const y0 = Math.floor(fy)
    const y1 = Math.min(height - 1, y0 + 1)
    const wy = fy - y0
    const row0 = y0 * width
    const row1 = y1 * width
    for (let x = 0; x < netW; x++) {
      const wx = weight[x]!
      const a = (row0 + left[x]!) * channels
      const b = (row0 + right[x]!) * channels
      const c0 = (row1 + left[x]!) * channels
      const d = (row1 + right[x]!) * channels
      for (let c = 0; c < 3; c++) {
        const v = (data[a + c]! * (1 - wx) + data[b + c]! * wx) * (1 - wy) + (data[c0 + c]! * (1 - wx) + data[d + c]! * wx) * wy
        out[(2 - c) * plane + y * netW + x] = (v / 255 - MEAN[2 - c]!) / STD[2 - c]!
      }
    }
  }
  return out
}

/** 4-connected regions of the binarised map, with their bounds and mean probability. */
function regions(probability: Float32Array, width: number, height: number, options: DetectorOptions) {
  const label = new Int32Array(width * height)
  const stack = new Int32Array(width * height)
  const found: { x0: number; y0: number; x1: number; y1: number; score: number; label: Int32Array; id: number; tilt: Tilt | null }[] = []
  // The pixels of the region being filled, in visiting order (for its tilted rectangle).
  const members = new Int32Array(width * height)
  const threshold = options.binaryThreshold
  let next = 0
  for (let start = 0; start < probability.length; start++) {
    if (label[start] !== 0 || probability[start]! < threshold) continue
    next++
    label[start] = next
    let top = 0
    stack[top++] = start
    let x0 = width,
      y0 = height,
      x1 = 0,
      y1 = 0,
      sum = 0,
      count = 0
    // No array per pixel: the old `for (const q of [...])` here cost several times the network itself.
    const visit = (q: number) => {
      if (label[q] === 0 && probability[q]! >= threshold) {
        label[q] = next
        stack[top++] = q
      }
    }
    while (top) {
      const p = stack[--top]!
      const x = p % width
      const y = (p - x) / width
      if (x < x0) x0 = x
      if (x + 1 > x1) x1 = x + 1
      if (y < y0) y0 = y
      if (y + 1 > y1) y1 = y + 1
      sum += probability[p]!
      members[count] = p
      count++
      if (x > 0) visit(p - 1)
      if (x < width - 1) visit(p + 1)
      if (y > 0) visit(p - width)
      if (y < height - 1) visit(p + width)
    }
    const score = sum / count
    // DB marks a text line as a solid, shrunk block; a region that fills little of its box is
    // an outline (a cup's rim, a ring) that only looks like a letter 'O' to the network.
    // A tilted line fills little of its upright box: it is measured along its own rectangle instead.
    const tilt = tiltedRectangle(members, count, width)
    const fill = tilt ? count / (tilt.length * tilt.thickness) : count / ((x1 - x0) * (y1 - y0))
    const thinnest = tilt ? tilt.thickness : Math.min(x1 - x0, y1 - y0)
    if (thinnest < options.minSize || score < options.boxThreshold || fill < options.minFill) continue
    found.push({ x0, y0, x1, y1, score, label, id: next, tilt })
  }
  return found
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))

interface Tilt {
  cx: number
  cy: number
  length: number
  thickness: number
  angle: number
}

/**
 * The rectangle along an elongated region, from its second moments (the long axis) and its extent
 * along and across that axis, as DB's post-processing takes a minimum-area rectangle. Null when
 * the region is upright (within UPRIGHT) or too round for its axis to mean anything.
 */
function tiltedRectangle(members: Int32Array, count: number, width: number): Tilt | null {
  if (count < 8) return null
  let mx = 0
  let my = 0
  for (let i = 0; i < count; i++) {
    const p = members[i]!
    mx += p % width
    my += Math.floor(p / width)
  }
  mx /= count
  my /= count
  let xx = 0
  let yy = 0
  let xy = 0
  for (let i = 0; i < count; i++) {
    const p = members[i]!
    const dx = (p % width) - mx
    const dy = Math.floor(p / width) - my
    xx += dx * dx
    yy += dy * dy
    xy += dx * dy
  }
  const angle = 0.5 * Math.atan2(2 * xy, xx - yy)
  // Lines lie within 45 degrees of horizontal here: a steeper axis is a vertical line or a blob.
  if (Math.abs(angle) < UPRIGHT || Math.abs(angle) > Math.PI / 4) return null
  const [c, s] = [Math.cos(angle), Math.sin(angle)]
  let u0 = Infinity
  let u1 = -Infinity
  let v0 = Infinity
  let v1 = -Infinity
  for (let i = 0; i < count; i++) {
    const p = members[i]!
    const dx = (p % width) - mx
    const dy = Math.floor(p / width) - my
    const u = dx * c + dy * s
    const v = -dx * s + dy * c
    if (u < u0) u0 = u
    if (u > u1) u1 = u
    if (v < v0) v0 = v
    if (v > v1) v1 = v
  }
  // Pixel extents: a run of n pixel centres spans n pixels.
  const length = u1 - u0 + 1
  const thickness = v1 - v0 + 1
  if (length < 2 * thickness) return null
  const um = (u0 + u1) / 2
  const vm = (v0 + v1) / 2
  // Pixel centres sit at +0.5 of their index, as the box's x0..x1 edges do.
  return { cx: mx + um * c - vm * s + 0.5, cy: my + um * s + vm * c + 0.5, length, thickness, angle }
}

/** A one-channel mask (255 = remove) covering the boxes, grown by `margin(box)` pixels for outlines and shadows. */
export function maskFromBoxes(width: number, height: number, boxes: TextBox[], margin = (h: number) => Math.ceil(2 + h * 0.15)): Pixels {
  const data = new Uint8Array(width * height)
  for (const { box } of boxes) {
    const m = margin(box[3] - box[1])
    const [x0, y0, x1, y1] = [clamp(box[0] - m, 0, width), clamp(box[1] - m, 0, height), clamp(box[2] + m, 0, width), clamp(box[3] + m, 0, height)]
    for (let y = y0; y < y1; y++) data.fill(255, y * width + x0, y * width + x1)
  }
  return { width, height, channels: 1, data }
}

/**
 * PP-OCRv4 recognition (CTC): reads the text inside a box, so false detections (a cup, a ring)
 * can be dropped by their low confidence and the page can list what was found.
 */
export async function recognizeText(
  session: InferenceSession,
  dictionary: string[],
  image: Pixels,
  box: [number, number, number, number],
  line?: TiltedLine,
): Promise<{ text: string; confidence: number }> {
  const [x0, y0, x1, y1] = box
  const height = 48
  // A tilted line is read along its own rectangle (bilinear, so the letters stay smooth); an upright one in its box.
  const [along, across] = line ? [line.length, line.thickness] : [x1 - x0, y1 - y0]
  const width = Math.max(16, Math.min(1280, Math.round((along / Math.max(1, across)) * height)))
  const input = new Float32Array(3 * height * width)
  const plane = height * width
  const rgb = new Float64Array(3)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (line) {
        const u = ((x + 0.5) / width - 0.5) * line.length
        const v = ((y + 0.5) / height - 0.5) * line.thickness
        sampleBilinear(image, line.cx + u * Math.cos(line.angle) - v * Math.sin(line.angle), line.cy + u * Math.sin(line.angle) + v * Math.cos(line.angle), rgb)
      } else {
        const sx = Math.min(image.width - 1, Math.floor(x0 + ((x + 0.5) * (x1 - x0)) / width))
        const sy = Math.min(image.height - 1, Math.floor(y0 + ((y + 0.5) * (y1 - y0)) / height))
        const i = (sy * image.width + sx) * image.channels
        for (let c = 0; c < 3; c++) rgb[c] = image.data[i + c]!
      }
      // BGR, scaled to -1..1, as PaddleOCR's recogniser was trained.
      for (let c = 0; c < 3; c++) input[(2 - c) * plane + y * width + x] = (rgb[c]! / 255 - 0.5) / 0.5
    }
  const output = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, height, width]) })
  const probs = output[session.outputNames[0]!]!
  const [, steps, classes] = probs.dims as number[]
  const data = probs.data as Float32Array
  let text = ''
  let last = 0
  let confidence = 0
  let kept = 0
  for (let t = 0; t < steps!; t++) {
    let best = 0
    for (let k = 1; k < classes!; k++) if (data[t * classes! + k]! > data[t * classes! + best]!) best = k
    // Greedy CTC: class 0 is the blank; repeats collapse; the last class is a space.
    if (best !== 0 && best !== last) {
      text += best === classes! - 1 ? ' ' : (dictionary[best - 1] ?? '')
      confidence += data[t * classes! + best]!
      kept++
    }
    last = best
  }
  return { text: text.trim(), confidence: kept ? confidence / kept : 0 }
}

/** The colour at (x, y) in pixel coordinates (centres at +0.5), bilinear, edges clamped. */
function sampleBilinear(image: Pixels, x: number, y: number, out: Float64Array) {
  const fx = clamp(x - 0.5, 0, image.width - 1)
  const fy = clamp(y - 0.5, 0, image.height - 1)
  const xa = Math.floor(fx)
  const ya = Math.floor(fy)
  const xb = Math.min(image.width - 1, xa + 1)
  const yb = Math.min(image.height - 1, ya + 1)
  const wx = fx - xa
  const wy = fy - ya
  const { data, channels, width } = image
  for (let c = 0; c < 3; c++) {
    const top = data[(ya * width + xa) * channels + c]! * (1 - wx) + data[(ya * width + xb) * channels + c]! * wx
    const bottom = data[(yb * width + xa) * channels + c]! * (1 - wx) + data[(yb * width + xb) * channels + c]! * wx
    out[c] = top * (1 - wy) + bottom * wy
  }
}
