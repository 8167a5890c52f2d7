import type { Pixels } from './image'
import { inpaintTelea } from './inpaint'

/**
 * Exemplar-based inpainting ("content-aware fill"): hole pixels are rebuilt from patches copied from the known
 * pixels around them, so texture (stripes, bricks, foliage, fabric) runs on through the hole instead of being
 * smeared the way a diffusion (Telea) smears it. The method is Wexler, Shechtman & Irani (2007), "Space-time
 * completion of video", with the nearest-neighbour search of Barnes et al. (2009), "PatchMatch":
 *
 * - Each region of the mask (the rectangles of `maskRegions`: connected components, grown and merged) is worked on
 *   in a crop: its box plus a margin of known context of 2.5 × the box's smaller side (24 to 96 px), so memory and time
 *   follow the holes, not the photo. Regions go one after the other; in a crop, the mask pixels of other regions are
 *   never copied from, those already filled keep their fill and those still to come get a quick stand-in, so that each
 *   hole pixel is searched for once.
 * - The crop is halved into a pyramid, at least once and until no hole pixel is more than a few pixels from a known
 *   one; the coarsest level is seeded by peeling the hole from its border inwards (a diffusion, like Telea's).
 * - At every level each target patch (every p×p patch that touches the hole, centred in it or just beside it) gets a
 *   source patch lying wholly in known pixels, by PatchMatch: a random (coarsest level) or upsampled field, then
 *   passes in alternating scan order of propagation (a neighbour's match, shifted by one) and random search around
 *   the current match at halving radii.
 * - The distance is the SSD over the patch's RGB, hole pixels taken at their current estimate, after shifting the
 *   source by the difference of the two patches' mean colours, clamped to a few levels: a slightly lighter or
 *   darker patch fits, so gradients and uneven light run on through the hole. In the first round at the coarsest
 *   level only the target's known pixels count, so that the first matches follow the surroundings rather than the
 *   diffusion's smooth guess.
 * - Each hole pixel then becomes the weighted mean of what the sources of all the target patches over it say it is
 *   (weight exp(-d / 2σ²), σ² the 75th percentile of the distances): the vote pulls the hole towards one coherent
 *   copy of the surroundings. Search and vote alternate a few times per level (an EM-like iteration).
 * - The field is upsampled to the next level (twice the offset plus the child's parity) and voted with the finer
 *   level's pixels, so the finer levels only refine what the coarse ones laid out.
 * - A crop with fewer than a handful of whole known patches has nothing to copy from: Telea fills it.
 *
 * Pure TypeScript on typed arrays. It yields to the event loop every few milliseconds (and checks the abort signal
 * there), and is deterministic for a given seed (all randomness comes from one seeded generator, drawn in a fixed
 * order).
 */

export interface ExemplarOptions {
  signal?: AbortSignal
  /** Seed of the random search; the same seed gives the same result. */
  seed?: number
  /** Patch side in pixels, odd (default 7). */
  patch?: number
}

/** With fewer whole known patches than this the crop has nothing to copy from: Telea fills it. */
const MIN_SOURCES = 16
/** A coarser level is only worth it with this many source patches to choose from. */
const MIN_COARSE_SOURCES = 64
/**
 * Halve at least once (when the crop allows it): a coarse patch sees twice the context, which settles structure that a
 * thin stroke hides (a mortar line under a letter) before the fine level copies it.
 */
const MIN_LEVELS = 2
/** Halve until no hole pixel is farther than this from a known one (the hole is then about twice as thick). */
const COARSEST_DEPTH = 3
/** Largest colour shift (levels per channel) a source patch may take to fit a target. */
const BIAS = 16
/** σ² of the vote is this percentile of the patch distances (Wexler et al. use the 75th). */
const PERCENTILE = 0.75
/**
 * Target patches are those centred in the hole or at most this far beside it (within the patch radius). The ones
 * beside it tie the fill to the hole's border; farther out than 2 px they cost more (a thin stroke's targets would
 * triple) than they add.
 */
const RING = 2
/** Longest synchronous stretch (ms) before yielding to the event loop. */
const SLICE_MS = 8
const TELEA_RADIUS = 5

interface Schedule {
  /** Search-then-vote rounds at this level. */
  rounds: number
  /** PatchMatch passes in the first round, and in each later one. */
  first: number
  passes: number
  /** Largest random-search radius; 0 = the whole crop. */
  radius: number
}

// The coarsest level lays out the structure from a random field: it gets the most work, and it is small.
// Finer levels start from the upsampled field and only refine it, with a local search.
const TOP: Schedule = { rounds: 4, first: 2, passes: 1, radius: 0 }
const MIDDLE: Schedule = { rounds: 2, first: 1, passes: 1, radius: 8 }
const FINEST: Schedule = { rounds: 1, first: 1, passes: 1, radius: 4 }

/** One pyramid level of a crop. Index = y * w + x; every array is crop-sized, never image-sized. */
interface Level {
  w: number
  h: number
  /** Patch radius. */
  r: number
  /** RGB, interleaved; hole pixels hold the current estimate. */
  img: Uint8Array
  /** The same pixels packed one to a word (R | G << 8 | B << 16): a patch distance then loads a third as often. */
  px: Uint32Array
  /** 1 where the pixel is to be filled (the region's own mask pixels). */
  hole: Uint8Array
  /** 1 where a source patch may not reach: every mask pixel (the hole, and those of other regions). */
  barred: Uint8Array
  /** The hole pixels' indices. */
  holes: Int32Array
  /** 1 where a patch centred here lies wholly in known pixels (a possible source). */
  valid: Uint8Array
  /** The number of known pixels in each target patch. */
  known: Uint16Array
  sources: Int32Array
  /** Centres of the patches that touch the hole and lie at most RING px from it, in raster order. */
  targets: Int32Array
  /** Bounding box [x0, y0, x1, y1) of the target centres. */
  box: [number, number, number, number]
  /** Per pixel: the centre of the source patch matched to the target patch centred here; -1 where no target. */
  nnf: Int32Array
  /** Distance of each target to its match. */
  dist: Float64Array
  /** Mean colour of the patch centred at each pixel. */
  means: Float32Array
  /** Each target's vote weight and colour shift, set at each vote. */
  weight: Float32Array
  shift: Float32Array
  /** Whether distances count the target's known pixels only. */
  knownOnly: boolean
}

/** Fills `mask` (one channel, non-zero = fill) in `image` (RGB) from patches of the surrounding photo. */
export async function inpaintExemplar(image: Pixels, mask: Pixels, options: ExemplarOptions = {}): Promise<Pixels> {
  const { signal, seed = 1 } = options
  if (image.channels !== 3) throw new Error(`inpaintExemplar needs an RGB image, not ${image.channels} channels`)
  if (mask.width !== image.width || mask.height !== image.height || mask.channels !== 1)
    throw new Error(`the mask must be ${image.width}x${image.height} with one channel`)
  const patch = Math.max(3, (options.patch ?? 7) | 1)
  const pad = patch >> 1
  const clock = new Clock(signal)
  clock.check()
  const random = new Random(seed)
  const out = new Uint8Array(image.data)
  const done: Rect[] = []
  for (const rect of await findRegions(mask, pad, clock)) {
    const [rx0, ry0, rx1, ry1] = rect
    await clock.yield()
    // The rectangle is the mask's box grown by `pad` (less at the image's edges): the context follows the box's smaller side.
    const side = Math.max(1, Math.min(rx1 - rx0, ry1 - ry0) - 2 * pad)
    const margin = Math.round(Math.min(96, Math.max(24, 2.5 * side)))
    const x0 = Math.max(0, rx0 - margin)
    const y0 = Math.max(0, ry0 - margin)
    const x1 = Math.min(image.width, rx1 + margin)
    const y1 = Math.min(image.height, ry1 + margin)
    const crop = cropLevel(out, image.width, mask, [x0, y0, x1, y1], rect, done)
    await clock.yield()
    const filled = await fillCrop(crop, patch, random, clock)
    const w = x1 - x0
    for (let y = ry0; y < ry1; y++)
      for (let x = rx0; x < rx1; x++) {
        const p = y * image.width + x
        if (!mask.data[p]) continue
        const q = ((y - y0) * w + x - x0) * 3
        out[p * 3] = filled[q]!
        out[p * 3 + 1] = filled[q + 1]!
        out[p * 3 + 2] = filled[q + 2]!
      }
    done.push(rect)
  }
  clock.check()
  return { width: image.width, height: image.height, channels: 3, data: out }
}

type Rect = [number, number, number, number]

/**
 * The rectangles `maskRegions` gives (boxes of 4-connected mask components grown by `pad`, clipped to the image,
 * overlapping ones merged), found from runs of mask pixels joined row to row with a union-find instead of a flood
 * fill, and scanned in slices: `maskRegions` itself takes 70 to 140 ms in one piece on a 1 MP mask on a small server,
 * more than the whole budget for a synchronous stretch; this takes a few ms.
 */
async function findRegions(mask: Pixels, pad: number, clock: Clock): Promise<Rect[]> {
  const { width, height, data } = mask
  // Runs of the previous and the current row (start, end, id), and each run's parent in the union-find.
  let previous: number[] = []
  let current: number[] = []
  const parent: number[] = []
  const runs: number[] = [] // x0, x1, y per run
  const root = (a: number) => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]!]!
    return a
  }
  // Most of a mask is empty: find the rows with mask pixels four bytes at a time first.
  const busy = new Uint8Array(height)
  const head = Math.min(data.length, (4 - (data.byteOffset % 4)) % 4)
  const words = new Uint32Array(data.buffer, data.byteOffset + head, (data.length - head) >> 2)
  const tail = head + words.length * 4
  for (let b = 0; b < head; b++) if (data[b]) busy[(b / width) | 0] = 1
  for (let i = 0; i < words.length; i++) if (words[i]) for (let b = head + 4 * i; b < head + 4 * i + 4; b++) busy[(b / width) | 0] = 1
  for (let b = tail; b < data.length; b++) if (data[b]) busy[(b / width) | 0] = 1
  for (let y = 0; y < height; ) {
    const deadline = clock.deadline()
    for (; y < height; y++) {
      if (!busy[y]) {
        previous = []
        continue
      }
      const row = y * width
      current = []
      for (let x = 0; x < width; x++) {
        if (!data[row + x]) continue
        const start = x
        while (x < width && data[row + x]) x++
        const id = parent.length
        parent.push(id)
        runs.push(start, x, y)
        current.push(start, x, id)
      }
      // Runs of consecutive rows that share a column are 4-connected.
      for (let i = 0, j = 0; i < current.length && j < previous.length; ) {
        if (current[i]! < previous[j + 1]! && previous[j]! < current[i + 1]!) {
          const a = root(current[i + 2]!)
          const b = root(previous[j + 2]!)
          if (a !== b) parent[Math.max(a, b)] = Math.min(a, b)
        }
        if (current[i + 1]! < previous[j + 1]!) i += 3
        else j += 3
      }
      previous = current
      if ((y & 15) === 15 && performance.now() > deadline) {
        y++
        break
      }
    }
    await clock.yield()
  }
  const boxes = new Map<number, Rect>()
  for (let id = 0; id < parent.length; id++) {
    const r = root(id)
    const x0 = runs[id * 3]!
    const x1 = runs[id * 3 + 1]!
    const y = runs[id * 3 + 2]!
    const box = boxes.get(r)
    if (box) {
      box[0] = Math.min(box[0], x0)
      box[1] = Math.min(box[1], y)
      box[2] = Math.max(box[2], x1)
      box[3] = Math.max(box[3], y + 1)
    } else boxes.set(r, [x0, y, x1, y + 1])
  }
  let rects = [...boxes.values()].map(
    ([x0, y0, x1, y1]): Rect => [Math.max(0, x0 - pad), Math.max(0, y0 - pad), Math.min(width, x1 + pad), Math.min(height, y1 + pad)],
  )
  // Merge overlapping rectangles until none overlap (a merged one may reach a third): a sweep along x finds the pairs.
  for (let merged = true; merged; ) {
    merged = false
    rects.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    const group = rects.map((_, i) => i)
    const find = (a: number) => {
      while (group[a] !== a) a = group[a] = group[group[a]!]!
      return a
    }
    let active: number[] = []
    for (let i = 0; i < rects.length; i++) {
      const a = rects[i]!
      active = active.filter((j) => rects[j]![2] > a[0])
      for (const j of active) {
        const b = rects[j]!
        if (a[1] < b[3] && b[1] < a[3] && find(i) !== find(j)) {
          group[find(i)] = find(j)
          merged = true
        }
      }
      active.push(i)
    }
    if (!merged) break
    const union = new Map<number, Rect>()
    rects.forEach((a, i) => {
      const g = find(i)
      const u = union.get(g)
      if (u) union.set(g, [Math.min(u[0], a[0]), Math.min(u[1], a[1]), Math.max(u[2], a[2]), Math.max(u[3], a[3])])
      else union.set(g, a)
    })
    rects = [...union.values()]
  }
  return rects
}

/** Fills the holes of one crop; returns the crop's RGB. */
async function fillCrop(base: Level, patch: number, random: Random, clock: Clock): Promise<Uint8Array> {
  const r = patch >> 1
  if (base.w < patch || base.h < patch) return telea(base)
  prepare(base, r)
  if (base.sources.length < MIN_SOURCES) return telea(base)
  const levels = [base]
  // Each whole-crop step gets its own slice: on a large crop (or before the JIT has warmed up) they add up.
  for (let last = base; await clock.yield(), levels.length < MIN_LEVELS || depth(last) > COARSEST_DEPTH; ) {
    const next = halve(last)
    if (next.w < 2 * patch || next.h < 2 * patch) break
    await clock.yield()
    prepare(next, r)
    if (next.sources.length < MIN_COARSE_SOURCES) break
    levels.push(next)
    last = next
  }
  const top = levels.length - 1
  for (let l = top; l >= 0; l--) {
    const level = levels[l]!
    const schedule = l === top ? TOP : l === 0 ? FINEST : MIDDLE
    const radius = schedule.radius || Math.max(level.w, level.h)
    if (l === top) {
      onionPeel(level.img, level.w, level.h, level.hole)
      level.px = pack(level.img, level.w * level.h)
      refreshMeans(level, 0, 0, level.w, level.h)
      randomField(level, random)
      level.knownOnly = true
    } else {
      upsampleField(levels[l + 1]!, level, random)
      // The first vote takes the coarse matches' weights and colour shifts; the level's own follow from its result.
      await inSlices(level.holes.length, clock, (from, deadline) => voteSlice(level, from, deadline))
      refreshMeans(level, 0, 0, level.w, level.h)
    }
    for (let round = 0; round < schedule.rounds; round++) {
      await inSlices(level.targets.length, clock, (from, deadline) => distanceSlice(level, from, deadline))
      for (let pass = 0; pass < (round ? schedule.passes : schedule.first); pass++) {
        const backward = (round + pass) % 2 === 1
        await inSlices(level.targets.length, clock, (from, deadline) => searchSlice(level, from, deadline, radius, backward, random))
      }
      await vote(level, clock)
      level.knownOnly = false
      refreshTargetMeans(level)
    }
  }
  return base.img
}

/** Runs `slice` (which does what it can before `deadline` and returns where it stopped) up to `n`, yielding between slices. */
async function inSlices(n: number, clock: Clock, slice: (from: number, deadline: number) => number) {
  for (let i = 0; i < n; ) {
    i = slice(i, clock.deadline())
    await clock.yield()
  }
}

/**
 * The crop `[x0, y0, x1, y1)` of `pixels` (RGB, `width` wide) around the region `own`, whose mask pixels are the hole.
 * Mask pixels of other regions are barred as sources, like the hole (patches come from the photo only), but are not
 * filled here: those already filled (`done`) keep their fill, those still to come get an onion-peel stand-in, so that
 * every mask pixel is searched for once, by its own region.
 */
function cropLevel(pixels: Uint8Array, width: number, mask: Pixels, [x0, y0, x1, y1]: Rect, own: Rect, done: Rect[]): Level {
  const w = x1 - x0
  const h = y1 - y0
  const img = new Uint8Array(w * h * 3)
  const hole = new Uint8Array(w * h)
  const barred = new Uint8Array(w * h)
  for (let y = 0; y < h; y++) {
    img.set(pixels.subarray(((y0 + y) * width + x0) * 3, ((y0 + y) * width + x1) * 3), y * w * 3)
    for (let x = 0; x < w; x++) barred[y * w + x] = mask.data[(y0 + y) * width + x0 + x] ? 1 : 0
  }
  // Unknown: the mask pixels of the region and of those still to come.
  const unknown = new Uint8Array(barred)
  for (const [a0, b0, a1, b1] of done) {
    const from = Math.max(x0, a0) - x0
    const to = Math.min(x1, a1) - x0
    if (from < to) for (let y = Math.max(y0, b0); y < Math.min(y1, b1); y++) unknown.fill(0, (y - y0) * w + from, (y - y0) * w + to)
  }
  let foreign = false
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x
      if (!unknown[p]) continue
      if (x + x0 >= own[0] && x + x0 < own[2] && y + y0 >= own[1] && y + y0 < own[3]) hole[p] = 1
      else foreign = true
    }
  if (foreign) onionPeel(img, w, h, unknown)
  return newLevel(w, h, img, hole, barred)
}

function newLevel(w: number, h: number, img: Uint8Array, hole: Uint8Array, barred: Uint8Array): Level {
  const none = new Int32Array(0)
  const empty = new Float32Array(0)
  return {
    w,
    h,
    r: 0,
    img,
    px: new Uint32Array(0),
    hole,
    barred,
    holes: none,
    valid: new Uint8Array(0),
    known: new Uint16Array(0),
    sources: none,
    targets: none,
    box: [0, 0, 0, 0],
    nnf: none,
    dist: new Float64Array(0),
    means: empty,
    weight: empty,
    shift: empty,
    knownOnly: false,
  }
}

/**
 * Half the size: known pixels average their known children, and a pixel is a hole (or barred) if any child is, so a
 * coarse source patch is made of the photo's own pixels only.
 */
function halve(fine: Level): Level {
  const { w, h } = fine
  const cw = (w + 1) >> 1
  const ch = (h + 1) >> 1
  const img = new Uint8Array(cw * ch * 3)
  const hole = new Uint8Array(cw * ch)
  const barred = new Uint8Array(cw * ch)
  for (let cy = 0; cy < ch; cy++)
    for (let cx = 0; cx < cw; cx++) {
      let n = 0,
        r = 0,
        g = 0,
        b = 0,
        unknown = 0,
        bar = 0
      for (let y = 2 * cy; y < Math.min(h, 2 * cy + 2); y++)
        for (let x = 2 * cx; x < Math.min(w, 2 * cx + 2); x++) {
          const p = y * w + x
          bar |= fine.barred[p]!
          if (fine.hole[p]) {
            unknown = 1
            continue
          }
          r += fine.img[p * 3]!
          g += fine.img[p * 3 + 1]!
          b += fine.img[p * 3 + 2]!
          n++
        }
      const c = cy * cw + cx
      hole[c] = unknown
      barred[c] = bar
      if (n) {
        img[c * 3] = Math.round(r / n)
        img[c * 3 + 1] = Math.round(g / n)
        img[c * 3 + 2] = Math.round(b / n)
      }
    }
  return newLevel(cw, ch, img, hole, barred)
}

/** Sorts the patch centres (patches wholly inside the crop only) into sources and targets with a summed-area table of the hole. */
function prepare(level: Level, r: number) {
  const { w, h, hole, barred } = level
  const ring = Math.min(r, RING)
  const holeSum = summedArea(hole, w, h)
  const barredSum = summedArea(barred, w, h)
  const sw = w + 1
  const holes = new Int32Array(holeSum[sw * (h + 1) - 1]!)
  for (let p = 0, k = 0; p < w * h; p++) if (hole[p]) holes[k++] = p
  const valid = new Uint8Array(w * h)
  const known = new Uint16Array(w * h)
  const target = new Uint8Array(w * h)
  const area = (2 * r + 1) * (2 * r + 1)
  let sourceCount = 0
  let targetCount = 0
  let x0 = w,
    y0 = h,
    x1 = 0,
    y1 = 0
  for (let y = r; y < h - r; y++)
    for (let x = r; x < w - r; x++) {
      const a = (y - r) * sw + x - r
      const b = a + (2 * r + 1) * sw
      const c = 2 * r + 1
      if (barredSum[b + c]! - barredSum[b]! - barredSum[a + c]! + barredSum[a]! === 0) {
        valid[y * w + x] = 1
        sourceCount++
        continue
      }
      const unknown = holeSum[b + c]! - holeSum[b]! - holeSum[a + c]! + holeSum[a]!
      if (!unknown) continue
      known[y * w + x] = area - unknown
      // Patches centred beside the hole hold it to its border; those more than RING px out add little.
      const ra = Math.max(0, y - ring) * sw + Math.max(0, x - ring)
      const rb = Math.min(h, y + ring + 1) * sw + Math.max(0, x - ring)
      const rc = Math.min(w, x + ring + 1) - Math.max(0, x - ring)
      if (holeSum[rb + rc]! - holeSum[rb]! - holeSum[ra + rc]! + holeSum[ra]! > 0) target[y * w + x] = 1
    }
  // Every hole pixel needs a patch over it: near the crop's edge that is the nearest centre, maybe farther out than RING.
  for (let i = 0; i < holes.length; i++) {
    const p = holes[i]!
    const x = p % w
    const y = (p - x) / w
    target[Math.min(h - 1 - r, Math.max(r, y)) * w + Math.min(w - 1 - r, Math.max(r, x))] = 1
  }
  for (let p = 0; p < w * h; p++) {
    if (!target[p]) continue
    const x = p % w
    const y = (p - x) / w
    targetCount++
    x0 = Math.min(x0, x)
    y0 = Math.min(y0, y)
    x1 = Math.max(x1, x + 1)
    y1 = Math.max(y1, y + 1)
  }
  const sources = new Int32Array(sourceCount)
  const targets = new Int32Array(targetCount)
  for (let p = 0, s = 0, t = 0; p < w * h; p++)
    if (valid[p]) sources[s++] = p
    else if (target[p]) targets[t++] = p
  Object.assign(level, {
    r,
    px: pack(level.img, w * h),
    holes,
    valid,
    known,
    sources,
    targets,
    box: [x0, y0, x1, y1],
    nnf: new Int32Array(w * h).fill(-1),
    dist: new Float64Array(w * h),
    means: new Float32Array(w * h * 3),
    weight: new Float32Array(w * h),
    shift: new Float32Array(w * h * 3),
  })
}

/**
 * Recomputes the mean colour of the patches centred in [x0 + r, x1 - r) × [y0 + r, y1 - r) from a summed-area table of
 * that rectangle. Source patches never change, so after a vote only the targets' box needs it.
 */
function refreshMeans(level: Level, x0: number, y0: number, x1: number, y1: number) {
  const { w, r, img, means } = level
  const sw = x1 - x0 + 1
  const sat = new Float64Array(sw * (y1 - y0 + 1) * 3)
  for (let y = y0; y < y1; y++) {
    let cr = 0,
      cg = 0,
      cb = 0
    for (let x = x0; x < x1; x++) {
      const p = (y * w + x) * 3
      cr += img[p]!
      cg += img[p + 1]!
      cb += img[p + 2]!
      const o = ((y - y0 + 1) * sw + x - x0 + 1) * 3
      const u = o - sw * 3
      sat[o] = sat[u]! + cr
      sat[o + 1] = sat[u + 1]! + cg
      sat[o + 2] = sat[u + 2]! + cb
    }
  }
  const side = 2 * r + 1
  const inv = 1 / (side * side)
  const across = side * 3
  for (let y = y0 + r; y < y1 - r; y++)
    for (let x = x0 + r; x < x1 - r; x++) {
      const a = ((y - y0 - r) * sw + x - x0 - r) * 3
      const b = a + side * sw * 3
      const m = (y * w + x) * 3
      means[m] = (sat[b + across]! - sat[b]! - sat[a + across]! + sat[a]!) * inv
      means[m + 1] = (sat[b + across + 1]! - sat[b + 1]! - sat[a + across + 1]! + sat[a + 1]!) * inv
      means[m + 2] = (sat[b + across + 2]! - sat[b + 2]! - sat[a + across + 2]! + sat[a + 2]!) * inv
    }
}

/** Refreshes the means of the target patches, the only ones a vote changes. */
function refreshTargetMeans(level: Level) {
  const [x0, y0, x1, y1] = level.box
  refreshMeans(level, x0 - level.r, y0 - level.r, x1 + level.r, y1 + level.r)
}

function pack(img: Uint8Array, n: number): Uint32Array {
  const px = new Uint32Array(n)
  for (let p = 0; p < n; p++) px[p] = img[p * 3]! | (img[p * 3 + 1]! << 8) | (img[p * 3 + 2]! << 16)
  return px
}

/** Summed-area table of a 0/1 map, (w + 1) × (h + 1). */
function summedArea(map: Uint8Array, w: number, h: number): Int32Array {
  const sw = w + 1
  const sat = new Int32Array(sw * (h + 1))
  for (let y = 0; y < h; y++) {
    let row = 0
    for (let x = 0; x < w; x++) {
      row += map[y * w + x]!
      sat[(y + 1) * sw + x + 1] = sat[y * sw + x + 1]! + row
    }
  }
  return sat
}

/** Chessboard distance of the farthest hole pixel from a known one (two-pass transform). */
function depth(level: Level): number {
  const { w, h, hole } = level
  const d = new Int32Array(w * h)
  const far = w + h
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x
      if (!hole[p]) continue
      let v = far
      if (x > 0) v = Math.min(v, d[p - 1]! + 1)
      if (y > 0) {
        v = Math.min(v, d[p - w]! + 1)
        if (x > 0) v = Math.min(v, d[p - w - 1]! + 1)
        if (x < w - 1) v = Math.min(v, d[p - w + 1]! + 1)
      }
      d[p] = v
    }
  let max = 0
  for (let y = h - 1; y >= 0; y--)
    for (let x = w - 1; x >= 0; x--) {
      const p = y * w + x
      if (!hole[p]) continue
      let v = d[p]!
      if (x < w - 1) v = Math.min(v, d[p + 1]! + 1)
      if (y < h - 1) {
        v = Math.min(v, d[p + w]! + 1)
        if (x < w - 1) v = Math.min(v, d[p + w + 1]! + 1)
        if (x > 0) v = Math.min(v, d[p + w - 1]! + 1)
      }
      d[p] = v
      if (v > max) max = v
    }
  return max
}

function telea(level: Level): Uint8Array {
  const { w, h } = level
  return inpaintTelea({ width: w, height: h, channels: 3, data: level.img }, { width: w, height: h, channels: 1, data: level.hole }, TELEA_RADIUS).data
}

/**
 * Fills the `unknown` pixels of `img` from their border inwards, each layer with the mean of its known 8-neighbours:
 * the coarsest level's first guess, which only has to be plausible (the first matches look at known pixels only), and
 * a stand-in for the holes of regions still to come. Cheap.
 */
function onionPeel(img: Uint8Array, w: number, h: number, unknown: Uint8Array) {
  const known = new Uint8Array(unknown.length)
  let count = 0
  for (let p = 0; p < known.length; p++) {
    if (unknown[p]) count++
    else known[p] = 1
  }
  let pending = new Int32Array(count)
  for (let p = 0, k = 0; p < known.length; p++) if (!known[p]) pending[k++] = p
  const layer = new Int32Array(count)
  while (pending.length) {
    let n = 0
    let rest = 0
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!
      const x = p % w
      const y = (p - x) / w
      let cr = 0,
        cg = 0,
        cb = 0,
        around = 0
      for (let dy = y > 0 ? -1 : 0; dy <= (y < h - 1 ? 1 : 0); dy++)
        for (let dx = x > 0 ? -1 : 0; dx <= (x < w - 1 ? 1 : 0); dx++) {
          const q = p + dy * w + dx
          if (!known[q]) continue
          cr += img[q * 3]!
          cg += img[q * 3 + 1]!
          cb += img[q * 3 + 2]!
          around++
        }
      if (!around) {
        pending[rest++] = p
        continue
      }
      img[p * 3] = Math.round(cr / around)
      img[p * 3 + 1] = Math.round(cg / around)
      img[p * 3 + 2] = Math.round(cb / around)
      layer[n++] = p
    }
    // A crop with no known pixel at all cannot be peeled; it keeps what it has.
    if (!n) break
    // The layer becomes known only once it is complete, so that it is filled from the outside only.
    for (let i = 0; i < n; i++) known[layer[i]!] = 1
    pending = pending.subarray(0, rest)
  }
}

function randomField(level: Level, random: Random) {
  const { targets, sources, nnf } = level
  for (let i = 0; i < targets.length; i++) nnf[targets[i]!] = sources[random.below(sources.length)]!
}

/**
 * A coarse match at (sx, sy) becomes (2sx, 2sy) plus the child's parity, with the coarse match's vote weight and colour
 * shift, or a random source (with next to no weight) if that is not a source here.
 */
function upsampleField(coarse: Level, fine: Level, random: Random) {
  const { w, h, r, targets, sources, valid, nnf, weight, shift } = fine
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    const x = t % w
    const y = (t - x) / w
    const c = Math.min(coarse.h - 1, y >> 1) * coarse.w + Math.min(coarse.w - 1, x >> 1)
    const m = coarse.nnf[c]!
    let s = -1
    if (m >= 0) {
      const mx = m % coarse.w
      const sx = Math.min(w - 1 - r, 2 * mx + (x & 1))
      const sy = Math.min(h - 1 - r, 2 * ((m - mx) / coarse.w) + (y & 1))
      s = sy * w + sx
      weight[t] = coarse.weight[c]!
      shift[t * 3] = coarse.shift[c * 3]!
      shift[t * 3 + 1] = coarse.shift[c * 3 + 1]!
      shift[t * 3 + 2] = coarse.shift[c * 3 + 2]!
    }
    if (s < 0 || !valid[s]) {
      s = sources[random.below(sources.length)]!
      weight[t] = 1e-6
      shift[t * 3] = shift[t * 3 + 1] = shift[t * 3 + 2] = 0
    }
    nnf[t] = s
  }
}

function clampShift(d: number): number {
  return Math.min(BIAS, Math.max(-BIAS, d))
}

/**
 * SSD between the patches centred at t and s once the source is shifted by the difference b of the patches' means
 * (clamped to ±BIAS per channel): Σ(T - S - b)² = Σ(T - S)² - n·b·(2Δ - b). Given up as soon as it reaches `best`.
 */
function patchDistance(px: Uint32Array, means: Float32Array, w: number, r: number, t: number, s: number, best: number): number {
  const side = 2 * r + 1
  const dr = means[t * 3]! - means[s * 3]!
  const dg = means[t * 3 + 1]! - means[s * 3 + 1]!
  const db = means[t * 3 + 2]! - means[s * 3 + 2]!
  const br = clampShift(dr)
  const bg = clampShift(dg)
  const bb = clampShift(db)
  const gain = (2 * r + 1) * (2 * r + 1) * (br * (2 * dr - br) + bg * (2 * dg - bg) + bb * (2 * db - bb))
  const limit = best + gain
  let ti = t - r * w - r
  let si = s - r * w - r
  let sum = 0
  for (let row = 0; row < side; row++) {
    for (let k = 0; k < side; k++) {
      const a = px[ti + k]!
      const b = px[si + k]!
      const d0 = (a & 255) - (b & 255)
      const d1 = ((a >> 8) & 255) - ((b >> 8) & 255)
      const d2 = (a >> 16) - (b >> 16)
      sum += d0 * d0 + d1 * d1 + d2 * d2
    }
    if (sum >= limit) break
    ti += w
    si += w
  }
  return Math.max(0, sum - gain)
}

/**
 * SSD over the target's known pixels only, scaled to the whole patch; infinite for a patch with none, which waits for its
 * neighbours. Given up as soon as it reaches `best`.
 */
function knownDistance(px: Uint32Array, hole: Uint8Array, known: Uint16Array, w: number, r: number, t: number, s: number, best: number): number {
  const count = known[t]!
  if (!count) return Number.POSITIVE_INFINITY
  const scale = ((2 * r + 1) * (2 * r + 1)) / count
  const limit = best / scale
  let sum = 0
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const q = t + dy * w + dx
      if (hole[q]) continue
      const a = px[q]!
      const b = px[s + dy * w + dx]!
      const d0 = (a & 255) - (b & 255)
      const d1 = ((a >> 8) & 255) - ((b >> 8) & 255)
      const d2 = (a >> 16) - (b >> 16)
      sum += d0 * d0 + d1 * d1 + d2 * d2
    }
    if (sum >= limit) break
  }
  return sum * scale
}

/** The distances of the current matches, after a vote has changed the hole. */
function distanceSlice(level: Level, from: number, deadline: number): number {
  const { px, hole, known, means, w, r, targets, nnf, dist, knownOnly } = level
  for (let i = from; i < targets.length; i++) {
    const t = targets[i]!
    dist[t] = knownOnly
      ? knownDistance(px, hole, known, w, r, t, nnf[t]!, Number.POSITIVE_INFINITY)
      : patchDistance(px, means, w, r, t, nnf[t]!, Number.POSITIVE_INFINITY)
    if ((i & 31) === 31 && performance.now() > deadline) return i + 1
  }
  return targets.length
}

/** One PatchMatch pass over the targets from `from` on: propagation from the previous neighbours in scan order, then random search. */
function searchSlice(level: Level, from: number, deadline: number, radius: number, backward: boolean, random: Random): number {
  const { px, hole, known, means, w, h, r, targets, valid, nnf, dist, knownOnly } = level
  const n = targets.length
  const step = backward ? -1 : 1
  const last = w * h
  for (let k = from; k < n; k++) {
    const t = targets[backward ? n - 1 - k : k]!
    let best = nnf[t]!
    let bestDist = dist[t]!
    // A perfect match cannot improve (flat areas, exact repeats): no search.
    if (bestDist > 0) {
      // Propagation: the previous neighbour's match, shifted the same way, is likely to fit here too (coherence).
      const fromLeft = nnf[t - step]!
      if (fromLeft >= 0) {
        const c = fromLeft + step
        if (valid[c] && c !== best) {
          const d = knownOnly ? knownDistance(px, hole, known, w, r, t, c, bestDist) : patchDistance(px, means, w, r, t, c, bestDist)
          if (d < bestDist) {
            best = c
            bestDist = d
          }
        }
      }
      const up = t - step * w
      const fromUp = up >= 0 && up < last ? nnf[up]! : -1
      if (fromUp >= 0) {
        const c = fromUp + step * w
        if (c >= 0 && c < last && valid[c] && c !== best) {
          const d = knownOnly ? knownDistance(px, hole, known, w, r, t, c, bestDist) : patchDistance(px, means, w, r, t, c, bestDist)
          if (d < bestDist) {
            best = c
            bestDist = d
          }
        }
      }
      // Random search around the best so far, the window halving down to one pixel.
      const bx = best % w
      const by = (best - bx) / w
      for (let rad = radius; rad >= 1; rad >>= 1) {
        const x = Math.min(w - 1 - r, Math.max(r, bx + random.offset(rad)))
        const y = Math.min(h - 1 - r, Math.max(r, by + random.offset(rad)))
        const c = y * w + x
        if (!valid[c] || c === best) continue
        const d = knownOnly ? knownDistance(px, hole, known, w, r, t, c, bestDist) : patchDistance(px, means, w, r, t, c, bestDist)
        if (d < bestDist) {
          best = c
          bestDist = d
        }
      }
    }
    nnf[t] = best
    dist[t] = bestDist
    if ((k & 15) === 15 && performance.now() > deadline) return k + 1
  }
  return n
}

/** Wexler's vote: each hole pixel becomes the weighted mean of what the (shifted) sources of the patches over it put there. */
async function vote(level: Level, clock: Clock) {
  const { targets, nnf, dist, means, weight, shift } = level
  const sigma2 = 2 * spread(level)
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    const s = nnf[t]!
    const d = dist[t]!
    // Even a hopeless match keeps a tiny weight, so that no hole pixel is left without a vote.
    weight[t] = d === Number.POSITIVE_INFINITY ? 1e-6 : Math.exp(-d / sigma2) + 1e-6
    for (let c = 0; c < 3; c++) shift[t * 3 + c] = clampShift(means[t * 3 + c]! - means[s * 3 + c]!)
  }
  await inSlices(level.holes.length, clock, (from, deadline) => voteSlice(level, from, deadline))
}

/** Gathers the votes of hole pixels from `from` on; sources are known pixels, so the hole can be rewritten in place (both copies). */
function voteSlice(level: Level, from: number, deadline: number): number {
  const { img, px, w, h, r, holes, nnf, weight, shift } = level
  for (let i = from; i < holes.length; i++) {
    const q = holes[i]!
    const x = q % w
    const y = (q - x) / w
    let sr = 0,
      sg = 0,
      sb = 0,
      sum = 0
    // Patches centred at (x - dx, y - dy) cover q; their centres must lie in [r, w - r) × [r, h - r).
    const dy0 = Math.max(-r, y - (h - 1 - r))
    const dy1 = Math.min(r, y - r)
    const dx0 = Math.max(-r, x - (w - 1 - r))
    const dx1 = Math.min(r, x - r)
    for (let dy = dy0; dy <= dy1; dy++)
      for (let dx = dx0; dx <= dx1; dx++) {
        const c = q - dy * w - dx
        const s = nnf[c]!
        if (s < 0) continue
        const wt = weight[c]!
        const v = px[s + dy * w + dx]!
        sr += wt * ((v & 255) + shift[c * 3]!)
        sg += wt * (((v >> 8) & 255) + shift[c * 3 + 1]!)
        sb += wt * ((v >> 16) + shift[c * 3 + 2]!)
        sum += wt
      }
    if (sum > 0) {
      const red = Math.min(255, Math.max(0, Math.round(sr / sum)))
      const green = Math.min(255, Math.max(0, Math.round(sg / sum)))
      const blue = Math.min(255, Math.max(0, Math.round(sb / sum)))
      img[q * 3] = red
      img[q * 3 + 1] = green
      img[q * 3 + 2] = blue
      px[q] = red | (green << 8) | (blue << 16)
    }
    if ((i & 63) === 63 && performance.now() > deadline) return i + 1
  }
  return holes.length
}

/** σ² of the vote's weights: a percentile of the finite distances (from a sample), at least one level² per value. */
function spread(level: Level): number {
  const { targets, dist, r } = level
  const floor = (2 * r + 1) * (2 * r + 1) * 3
  const step = Math.max(1, Math.floor(targets.length / 1024))
  const sample = new Float64Array(Math.ceil(targets.length / step))
  let n = 0
  for (let i = 0; i < targets.length; i += step) {
    const d = dist[targets[i]!]!
    if (d !== Number.POSITIVE_INFINITY) sample[n++] = d
  }
  if (!n) return floor
  const sorted = sample.subarray(0, n).sort()
  return Math.max(floor, sorted[Math.floor(n * PERCENTILE)]!)
}

/** Keeps each synchronous stretch under SLICE_MS and turns an abort into the signal's reason. */
class Clock {
  private start = performance.now()
  constructor(private readonly signal?: AbortSignal) {}
  check() {
    if (this.signal?.aborted) throw this.signal.reason ?? new Error('aborted')
  }
  deadline() {
    return this.start + SLICE_MS
  }
  async yield() {
    this.check()
    if (performance.now() < this.start + SLICE_MS) return
    await new Promise(setImmediate)
    this.start = performance.now()
    this.check()
  }
}

/** mulberry32: a tiny seedable generator. */
class Random {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return (this.next() * n) | 0
  }
  /** An integer in [-radius, radius]. */
  offset(radius: number): number {
    return Math.round((2 * this.next() - 1) * radius)
  }
}
