import { LINEAR, linearToLab } from './colour'
import { extremeFilter, withoutThinStrokes } from './filters'
import type { Pixels } from './image'
import { fitOverlay, type OverlayFit } from './overlay'

/**
 * Masks that follow the letters inside text-detector boxes, so inpainting fills the glyphs (plus a
 * thin halo) instead of the whole rectangle, which smears the photo.
 *
 * Per box, in a window around it (CIE Lab): the ring just outside the box is the local background.
 * A colour that is much more frequent inside the box than in the ring is a text colour; the ratio
 * of the two colour histograms scores each pixel. Backgrounds change along a caption, so the box is
 * scored in pieces about one height wide against their own stretch of ring, and once as a whole
 * (text keeps its colours along the box; a stretch of ring may show a text colour by chance).
 * Boxes whose text does not separate fall back to the old box mask.
 */

export type Box = [number, number, number, number]

export interface LetterMaskResult {
  /** 1 channel, 255 = remove. */
  mask: Pixels
  /** Per box: 'letters' when separated, 'box' when it fell back to the box. */
  method: ('letters' | 'box')[]
}

/** Where the detector saw the line inside its box (1 = text, box-sized, shrunk by `grow` pixels), see text-detector.ts. */
export interface TextBand {
  data: Uint8Array
  grow: number
  /** The line's own height where it differs from its box's (a tilted line: its thickness across), in pixels. */
  height?: number
}

/** The height of the box's text: the tilted line's thickness, or the box's height. */
const textHeight = (box: Box, band?: TextBand) => Math.max(1, band?.height ?? box[3] - box[1])

export interface LetterMaskOptions {
  /** Square dilation of the letters, in pixels (default 2), before the anti-aliasing halo. */
  grow?: number
  /** Per box, the detector's band: letters are kept only inside it (grown back to the line's extent). */
  bands?: (TextBand | undefined)[]
}

/** Box-to-ring frequency ratio above which a colour is text (1.8 kept more faint edges than 2.5 on the fixtures; noise still fails). */
const TEXT_RATIO = 1.8
/** Ratio above which a pixel next to the letters joins them (anti-aliasing, JPEG ringing). */
const HALO_RATIO = 1.3

// Colour histogram grid in Lab: L in 5-unit bins, a and b in 6-unit bins over [-96, 96), about one just-noticeable step each.
const L_BINS = 20
const AB_BINS = 32
const BINS = L_BINS * AB_BINS * AB_BINS

let binTable: Uint16Array | undefined
/**
 * The Lab bin of every colour at 6 bits per channel (2^18 entries, built once, a few ms): a bin is
 * 5 ΔE wide and one 6-bit step is at most about 2, so the lookup replaces a Lab conversion per pixel.
 */
function colourBins(): Uint16Array {
  if (binTable) return binTable
  binTable = new Uint16Array(1 << 18)
  // Float64, as the formulas computed in plain numbers before: the same bins to the last bit.
  const lab = new Float64Array(3)
  for (let r = 0; r < 64; r++)
    for (let g = 0; g < 64; g++)
      for (let b = 0; b < 64; b++) {
        linearToLab(LINEAR[r * 4 + 2]!, LINEAR[g * 4 + 2]!, LINEAR[b * 4 + 2]!, lab)
        const l = clamp(Math.floor(lab[0]! / 5), 0, L_BINS - 1)
        const a = clamp(Math.floor((lab[1]! + 96) / 6), 0, AB_BINS - 1)
        const bb = clamp(Math.floor((lab[2]! + 96) / 6), 0, AB_BINS - 1)
        binTable[(r << 12) | (g << 6) | b] = (l * AB_BINS + a) * AB_BINS + bb
      }
  return binTable
}

// Histograms reused between boxes (single-threaded), cleared by the pixels that filled them.
const boxHist = new Float32Array(BINS)
const ringHist = new Float32Array(BINS)
const cache = new Float32Array(BINS)
const cacheStamp = new Uint32Array(BINS)
let stamp = 0

/** The histogram at `bin` smoothed by [1, 2, 1] along each axis (weight 64 in all), so sparse samples still give a density. */
function smoothedAt(hist: Float32Array, bin: number): number {
  const l = Math.floor(bin / (AB_BINS * AB_BINS))
  const a = Math.floor(bin / AB_BINS) % AB_BINS
  const b = bin % AB_BINS
  let sum = 0
  for (let dl = -1; dl <= 1; dl++) {
    if (l + dl < 0 || l + dl >= L_BINS) continue
    for (let da = -1; da <= 1; da++) {
      if (a + da < 0 || a + da >= AB_BINS) continue
      for (let db = -1; db <= 1; db++) {
        if (b + db < 0 || b + db >= AB_BINS) continue
        const v = hist[bin + (dl * AB_BINS + da) * AB_BINS + db]!
        if (v) sum += v * (dl ? 1 : 2) * (da ? 1 : 2) * (db ? 1 : 2)
      }
    }
  }
  return sum
}

/**
 * Raises `ratio`, for the window's columns [cx0, cx1), to how much more often each pixel's colour
 * occurs in the box than in the ring, both counted over the columns [sx0, sx1). Text colours score
 * high; background colours, which the ring shares, about 1 or less.
 */
function scoreColumns(bins: Uint16Array, region: Uint8Array, w: number, wh: number, cols: [number, number, number, number], ratio: Float32Array) {
  const [cx0, cx1, sx0, sx1] = cols
  let boxCount = 0
  let ringCount = 0
  for (let y = 0; y < wh; y++)
    for (let x = sx0; x < sx1; x++) {
      const p = y * w + x
      if (region[p] === 1) {
        boxHist[bins[p]!]!++
        boxCount++
      } else if (region[p] === 2) {
        ringHist[bins[p]!]!++
        ringCount++
      }
    }
  if (boxCount >= 16 && ringCount >= 16) {
    const boxNorm = 1 / (64 * boxCount)
    const ringNorm = 1 / (64 * ringCount)
    // One pseudo-sample of ring keeps colours the ring never showed finite, and random noise near 1.
    const prior = 1 / ringCount
    stamp++
    for (let y = 0; y < wh; y++)
      for (let x = cx0; x < cx1; x++) {
        const p = y * w + x
        const bin = bins[p]!
        if (cacheStamp[bin] !== stamp) {
          cacheStamp[bin] = stamp
          cache[bin] = (smoothedAt(boxHist, bin) * boxNorm + prior) / (smoothedAt(ringHist, bin) * ringNorm + prior)
        }
        if (cache[bin]! > ratio[p]!) ratio[p] = cache[bin]!
      }
  }
  for (let y = 0; y < wh; y++) for (let x = sx0; x < sx1; x++) boxHist[bins[y * w + x]!] = ringHist[bins[y * w + x]!] = 0
}

/** Calls `visit` with the pixels of each 8- (or 4-) connected component of `on`; the list is reused between calls. */
function components(on: Uint8Array, w: number, h: number, eight: boolean, visit: (pixels: Int32Array, size: number) => void) {
  const n = w * h
  const seen = new Uint8Array(n)
  const stack = new Int32Array(n)
  for (let start = 0; start < n; start++) {
    if (!on[start] || seen[start]) continue
    let size = 0
    let top = 0
    stack[top++] = start
    seen[start] = 1
    // The stack doubles as the component's pixel list: read by index, never popped.
    while (size < top) {
      const p = stack[size++]!
      const x = p % w
      // Neighbours as offsets, written out: a closure here costs more than the whole search.
      const x0 = x > 0 ? -1 : 0
      const x1 = x < w - 1 ? 1 : 0
      const y0 = p >= w ? -w : 0
      const y1 = p < n - w ? w : 0
      for (let dy = y0; dy <= y1; dy += w) {
        for (let dx = x0; dx <= x1; dx++) {
          if (!eight && dx && dy) continue
          const q = p + dy + dx
          if (on[q] && !seen[q]) {
            seen[q] = 1
            stack[top++] = q
          }
        }
      }
    }
    visit(stack, size)
  }
}

/** Square binary dilation of radius r: a maximum filter (filters.ts) on the 0/1 mask. */
const dilate = (src: Uint8Array, w: number, h: number, r: number) => extremeFilter(src, w, h, 1, Math.max(0, r), true)

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))

/** The window a box's letters are looked for in: the box and a quarter of its height (plus 2 px) around it, inside the image. */
function windowOf(image: Pixels, box: Box): Box {
  const m = Math.ceil(2 + 0.25 * Math.max(1, box[3] - box[1]))
  return [clamp(box[0] - m, 0, image.width), clamp(box[1] - m, 0, image.height), clamp(box[2] + m, 0, image.width), clamp(box[3] + m, 0, image.height)]
}

/**
 * The detector's band in window pixels, grown back to the line's full extent plus the halo's 2 px
 * (1 = on the line); null without a band of the box's size.
 */
function lineInWindow(box: Box, [wx0, wy0, wx1, wy1]: Box, band?: TextBand): Uint8Array | null {
  const bw = box[2] - box[0]
  if (!band || band.data.length !== bw * (box[3] - box[1])) return null
  const w = wx1 - wx0
  const wh = wy1 - wy0
  const inBox = new Uint8Array(w * wh)
  for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) inBox[(y - wy0) * w + x - wx0] = band.data[(y - box[1]) * bw + x - box[0]]!
  return dilate(inBox, w, wh, band.grow + 2)
}

/**
 * The letters of a semi-transparent white or black overlay in one box (overlay.ts): without its
 * thin strokes (an opening or closing) the window is the photo, and the letters are the pixels
 * mixed towards the overlay colour by one flat opacity. Colours alone cannot find them: under a
 * watermark they are the photo's own, lightened or darkened. Null when the box holds no such overlay.
 */
function overlayLettersInBox(image: Pixels, box: Box, grow: number, band?: TextBand): { window: Box; mask: Uint8Array } | null {
  const { width } = image
  const h = textHeight(box, band)
  const frame = windowOf(image, box)
  const [wx0, wy0, wx1, wy1] = frame
  const w = wx1 - wx0
  const wh = wy1 - wy0
  if (w <= 0 || wh <= 0 || image.channels !== 3) return null
  const n = w * wh
  const crop = new Uint8Array(n * 3)
  for (let y = 0; y < wh; y++) crop.set(image.data.subarray(((wy0 + y) * width + wx0) * 3, ((wy0 + y) * width + wx1) * 3), y * w * 3)
  // The box's pixels on the detector's line (all of them without a band).
  const line = lineInWindow(box, frame, band)
  const at: number[] = []
  for (let y = box[1] - wy0; y < box[3] - wy0; y++) for (let x = box[0] - wx0; x < box[2] - wx0; x++) if (!line || line[y * w + x]) at.push(y * w + x)
  // Strokes of thin watermark type are 2-4 px wide: an opening of radius ~a tenth of the line removes them and keeps what is wider.
  const radius = clamp(Math.round(0.1 * h), 2, 6)
  let best: { fit: OverlayFit } | null = null
  for (const overlay of [255, 0] as const) {
    const fit = fitOverlay(crop, withoutThinStrokes(crop, w, wh, 3, radius, overlay === 255), at, overlay)
    if (fit && (!best || fit.spread < best.fit.spread)) best = { fit }
  }
  if (!best) return null
  const raw = new Uint8Array(n)
  at.forEach((p, k) => {
    if (best.fit.estimates[k]! >= best.fit.threshold) raw[p] = 1
  })
  const speck = Math.max(4, 0.01 * h * h)
  const kept = new Uint8Array(n)
  components(raw, w, wh, true, (pixels, size) => {
    if (size >= speck) for (let i = 0; i < size; i++) kept[pixels[i]!] = 1
  })
  let letters = 0
  for (const p of at) letters += kept[p]!
  if (letters < 0.02 * at.length) return null
  // Grown as the colour-separated letters are; the halo's anti-aliased pixels are mixed less and are undone with them.
  return { window: frame, mask: dilate(kept, w, wh, grow + 1) }
}

/**
 * The colour-separated letters, unless the box holds a flat semi-transparent overlay and the colour
 * mask adds more pixels to the overlay's letters than those letters have: then what it adds is
 * photo that is rare in the ring (a white cup rim under a white watermark), not text. (Where the
 * fit finds only a drop shadow or the anti-aliased edges of opaque text, the colour mask adds less
 * than that, 0-0.4x on the evaluation set, and wins.)
 */
function chooseLetters(overlay: ReturnType<typeof overlayLettersInBox>, colour: ReturnType<typeof lettersInBox>) {
  if (!overlay || !colour) return colour ?? overlay
  let added = 0
  let letters = 0
  for (let p = 0; p < colour.mask.length; p++) {
    letters += overlay.mask[p]!
    if (colour.mask[p] && !overlay.mask[p]) added++
  }
  return added > letters ? overlay : colour
}

/** The letters of one box inside its window, or null when they do not separate (the caller falls back to the box). */
function lettersInBox(image: Pixels, box: Box, grow: number, band?: TextBand): { window: Box; mask: Uint8Array } | null {
  const { width } = image
  const h = textHeight(box, band)
  const frame = windowOf(image, box)
  const [wx0, wy0, wx1, wy1] = frame
  const w = wx1 - wx0
  const wh = wy1 - wy0
  if (w <= 0 || wh <= 0) return null
  const n = w * wh
  // Region of each window pixel: 1 inside the box, 2 in the background ring (beyond box + 2 px), 0 between.
  const region = new Uint8Array(n)
  const bx0 = clamp(box[0], wx0, wx1) - wx0
  const by0 = clamp(box[1], wy0, wy1) - wy0
  const bx1 = clamp(box[2], wx0, wx1) - wx0
  const by1 = clamp(box[3], wy0, wy1) - wy0
  let boxCount = 0
  let ringCount = 0
  for (let y = 0; y < wh; y++)
    for (let x = 0; x < w; x++) {
      if (x >= bx0 && x < bx1 && y >= by0 && y < by1) {
        region[y * w + x] = 1
        boxCount++
      } else if (x < bx0 - 2 || x >= bx1 + 2 || y < by0 - 2 || y >= by1 + 2) {
        region[y * w + x] = 2
        ringCount++
      }
    }
  // Too little ring to say what the background is (a box filling the image edge to edge).
  if (boxCount < 16 || ringCount < Math.max(16, 0.02 * boxCount)) return null

  const table = colourBins()
  const bins = new Uint16Array(n)
  const { data, channels } = image
  const grey = channels < 3
  for (let y = 0; y < wh; y++)
    for (let x = 0; x < w; x++) {
      const s = ((wy0 + y) * width + wx0 + x) * channels
      const r = data[s]! >> 2
      bins[y * w + x] = table[(r << 12) | ((grey ? r : data[s + 1]! >> 2) << 6) | (grey ? r : data[s + 2]! >> 2)]!
    }
  const score = new Float32Array(n)
  const boxW = bx1 - bx0
  const pieces = Math.max(1, Math.round(boxW / h))
  const context = Math.round(0.5 * h)
  for (let s = 0; s < pieces; s++) {
    const cx0 = s === 0 ? 0 : bx0 + Math.round((s * boxW) / pieces)
    const cx1 = s === pieces - 1 ? w : bx0 + Math.round(((s + 1) * boxW) / pieces)
    scoreColumns(bins, region, w, wh, [cx0, cx1, Math.max(0, cx0 - context), Math.min(w, cx1 + context)], score)
  }
  // Text keeps its colours along the whole box: white letters under a white highlight in one stretch of ring are still text.
  scoreColumns(bins, region, w, wh, [0, w, 0, w], score)
  let raw = new Uint8Array(n)
  for (let p = 0; p < n; p++) raw[p] = score[p]! > TEXT_RATIO ? 1 : 0
  // Inside the box, colours that are rare in the ring but lie off the detector's line (a white cup rim under a tilted
  // watermark) are not text.
  const line = lineInWindow(box, frame, band)
  if (line) for (let p = 0; p < n; p++) if (region[p] === 1 && !line[p]) raw[p] = 0
  // Keep the pieces that reach into the box, or the line (text cut by a short box goes on into the window); drop specks.
  const speck = Math.max(4, Math.min(0.003 * boxCount, 0.01 * h * h))
  const kept = new Uint8Array(n)
  components(raw, w, wh, true, (pixels, size) => {
    if (size < speck) return
    let touches = false
    for (let i = 0; i < size && !touches; i++) touches = line ? line[pixels[i]!] === 1 && region[pixels[i]!] === 1 : region[pixels[i]!] === 1
    if (touches) for (let i = 0; i < size; i++) kept[pixels[i]!] = 1
  })
  raw = kept
  let letters = 0
  for (let p = 0; p < n; p++) if (raw[p] && region[p] === 1) letters++
  // Bold outlined or shadowed text covers up to ~65 % of a tight (or short) box; beyond 75 % the separation has failed.
  const fraction = letters / boxCount
  if (fraction < 0.02 || fraction > 0.75) return null
  // Fill small enclosed holes (counters of o, a, e): inpainting them with the letters costs nothing and avoids slivers.
  const holeMax = Math.max(16, 0.25 * h * h)
  const gaps = new Uint8Array(n)
  for (let p = 0; p < n; p++) gaps[p] = raw[p] ? 0 : 1
  components(gaps, w, wh, false, (pixels, size) => {
    if (size > holeMax) return
    for (let i = 0; i < size; i++) {
      const p = pixels[i]!
      const x = p % w
      const y = (p - x) / w
      if (x === 0 || y === 0 || x === w - 1 || y === wh - 1) return
    }
    for (let i = 0; i < size; i++) raw[pixels[i]!] = 1
  })

  const grown = dilate(raw, w, wh, grow)
  // Anti-aliased edges and JPEG ringing: one more pixel where the colour still leans towards text.
  const halo = dilate(grown, w, wh, 1)
  const mask = new Uint8Array(n)
  for (let p = 0; p < n; p++) mask[p] = grown[p] || (halo[p] && score[p]! > HALO_RATIO) ? 1 : 0
  return { window: frame, mask }
}

/** One mask (255 = remove) for all boxes [x0, y0, x1, y1): the letters where they separate, the box grown as before where not. */
export function letterMask(image: Pixels, boxes: Box[], options: LetterMaskOptions = {}): LetterMaskResult {
  const { width, height } = image
  const grow = options.grow ?? 2
  const data = new Uint8Array(width * height)
  const method: ('letters' | 'box')[] = []
  for (const [index, box] of boxes.entries()) {
    const found = chooseLetters(overlayLettersInBox(image, box, grow, options.bands?.[index]), lettersInBox(image, box, grow, options.bands?.[index]))
    if (found) {
      const [x0, y0, x1] = found.window
      const w = x1 - x0
      for (let p = 0; p < found.mask.length; p++) {
        if (!found.mask[p]) continue
        const x = p % w
        data[(y0 + (p - x) / w) * width + x0 + x] = 255
      }
      method.push('letters')
      continue
    }
    // The old mask: the whole box, grown by the detector's margin.
    const m = Math.ceil(2 + 0.15 * (box[3] - box[1]))
    const x0 = clamp(box[0] - m, 0, width)
    const y0 = clamp(box[1] - m, 0, height)
    const x1 = clamp(box[2] + m, 0, width)
    const y1 = clamp(box[3] + m, 0, height)
    if (x1 > x0) for (let y = y0; y < y1; y++) data.fill(255, y * width + x0, y * width + x1)
    method.push('box')
  }
  return { mask: { width, height, channels: 1, data }, method }
}
