import { describe, expect, it } from 'vitest'
import { inpaintExemplar } from '../../inference/runtime/exemplar-inpaint'
import type { Pixels } from '../../inference/runtime/image'
import { inpaintTelea } from '../../inference/runtime/inpaint'
import { loadRgb, psnr, resize } from '../helpers/images'

const W = 160
const H = 120

function texture(f: (x: number, y: number) => [number, number, number], w = W, h = H): Pixels {
  const data = new Uint8Array(w * h * 3)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3)
  return { width: w, height: h, channels: 3, data }
}

const stripes = () => texture((x) => (x % 8 < 4 ? [200, 60, 40] : [30, 90, 180]))
const checker = () => texture((x, y) => ((Math.floor(x / 6) + Math.floor(y / 6)) % 2 ? [230, 230, 220] : [40, 40, 50]))
/** Bricks of 24 x 12 px with 2 px of mortar, every other course offset by half a brick. */
const brick = () =>
  texture((x, y) => {
    const course = Math.floor(y / 12)
    return y % 12 < 2 || (x + (course % 2) * 12) % 24 < 2 ? [200, 200, 190] : [170, 70, 50]
  })
/** Each channel runs its own way, so no other patch of it is the same: only a colour shift makes one fit. */
const gradient = () => texture((x, y) => [Math.round(40 + x * 1.2), Math.round(60 + y * 1.1), Math.round(200 - (x + y) * 0.5)])

/** Text-like holes: three 60 x 10 bars, and 3 px strokes (an L, a T, a slanted bar). */
function textMask(w = W, h = H): Pixels {
  const data = new Uint8Array(w * h)
  const box = (x0: number, y0: number, bw: number, bh: number) => {
    for (let y = y0; y < y0 + bh; y++) for (let x = x0; x < x0 + bw; x++) data[y * w + x] = 255
  }
  box(20, 15, 60, 10)
  box(85, 50, 60, 10)
  box(30, 90, 60, 10)
  box(10, 40, 3, 30)
  box(10, 67, 20, 3)
  box(120, 10, 3, 25)
  box(110, 10, 24, 3)
  for (let t = 0; t < 40; t++) box(100 + t, 75 + Math.floor(t / 2), 3, 3)
  return { width: w, height: h, channels: 1, data }
}

/** The photo with magenta "text" painted where the mask is, so that a fill that peeks under the mask shows. */
function withText(image: Pixels, mask: Pixels): Pixels {
  const data = new Uint8Array(image.data)
  for (let p = 0; p < mask.data.length; p++) if (mask.data[p]) data.set([255, 0, 255], p * 3)
  return { ...image, data }
}

/** The masked pixels only, as a one-row image, so that `psnr` measures the fill alone. */
function inside(image: Pixels, mask: Pixels): Pixels {
  const picked: number[] = []
  for (let p = 0; p < mask.data.length; p++) if (mask.data[p]) picked.push(image.data[p * 3]!, image.data[p * 3 + 1]!, image.data[p * 3 + 2]!)
  return { width: picked.length / 3, height: 1, channels: 3, data: Uint8Array.from(picked) }
}

/** Pixels of the fill that are still the painted magenta (or close to it): a hole left unfilled, or a source reaching into it. */
function magentaIn(fill: Pixels): number {
  let count = 0
  for (let p = 0; p < fill.width * fill.height; p++) if (fill.data[p * 3]! > 200 && fill.data[p * 3 + 1]! < 60 && fill.data[p * 3 + 2]! > 200) count++
  return count
}

function changedOutside(a: Pixels, b: Pixels, mask: Pixels): number {
  let changed = 0
  for (let p = 0; p < mask.data.length; p++) {
    if (mask.data[p]) continue
    for (let c = 0; c < 3; c++) if (a.data[p * 3 + c] !== b.data[p * 3 + c]) changed++
  }
  return changed
}

function boxesMask(width: number, height: number, boxes: [number, number, number, number][]): Pixels {
  const data = new Uint8Array(width * height)
  for (const [x0, y0, w, h] of boxes) for (let y = y0; y < y0 + h; y++) data.fill(255, y * width + x0, y * width + x0 + w)
  return { width, height, channels: 1, data }
}

describe('inpaintExemplar', () => {
  it('keeps every pixel outside the mask and returns an RGB image of the same size', async () => {
    const mask = textMask()
    const truth = await loadRgb('coffee.png', { left: 20, top: 200, width: W, height: H })
    const input = withText(truth, mask)
    const out = await inpaintExemplar(input, mask, { seed: 1 })
    expect([out.width, out.height, out.channels, out.data.length]).toEqual([W, H, 3, W * H * 3])
    expect(out.data).not.toBe(input.data)
    expect(changedOutside(out, input, mask)).toBe(0)
    expect(magentaIn(inside(out, mask))).toBe(0)
    // Holes at the image's edges and corners (patches there cannot be centred on them).
    const edges = boxesMask(W, H, [
      [0, 0, 30, 6],
      [W - 4, 20, 4, 40],
      [50, H - 3, 50, 3],
      [W - 10, H - 10, 10, 10],
    ])
    const edged = withText(truth, edges)
    const edgeOut = await inpaintExemplar(edged, edges, { seed: 3, patch: 5 })
    expect(changedOutside(edgeOut, edged, edges)).toBe(0)
    expect(magentaIn(inside(edgeOut, edges))).toBe(0)
    const teleaEdges = psnr(inside(inpaintTelea(edged, edges, 5), edges), inside(truth, edges))
    expect(psnr(inside(edgeOut, edges), inside(truth, edges))).toBeGreaterThan(teleaEdges - 1)
  })

  it('fills dense lines of letters, whose crops overlap, each hole once and from the photo only', async () => {
    // Letters 10 x 14 px of 2-3 px strokes, 5 px apart: each is a region, and its crop holds its neighbours' holes.
    const size = 200
    const strokes: [number, number, number, number][] = []
    for (let line = 0; line < 4; line++)
      for (let k = 0; k < 12; k++) {
        const x = 8 + k * 15
        const y = 20 + line * 45
        if (k % 3 === 0) strokes.push([x, y, 3, 14], [x, y, 10, 3], [x, y + 11, 10, 3])
        else if (k % 3 === 1) strokes.push([x, y, 2, 14], [x + 8, y, 2, 14], [x, y + 6, 10, 2])
        else strokes.push([x, y, 10, 3], [x + 4, y, 3, 14])
      }
    const mask = boxesMask(size, size, strokes)
    const rows: string[] = []
    let gain = 0
    for (const [left, top] of [
      [150, 150],
      [0, 0],
      [380, 180],
      [250, 20],
    ] as const) {
      const truth = await loadRgb('coffee.png', { left, top, width: size, height: size })
      const input = withText(truth, mask)
      const out = await inpaintExemplar(input, mask, { seed: 2 })
      expect(changedOutside(out, input, mask)).toBe(0)
      const fill = inside(out, mask)
      expect(magentaIn(fill)).toBe(0)
      const ours = psnr(fill, inside(truth, mask))
      const theirs = psnr(inside(inpaintTelea(input, mask, 5), mask), inside(truth, mask))
      rows.push(`crop at ${left},${top}: exemplar ${ours.toFixed(1)} dB, Telea ${theirs.toFixed(1)} dB`)
      // Thin strokes are where diffusion is at its best: the exemplar fill may trail it on a crop, not on the whole.
      expect(ours).toBeGreaterThan(theirs - 2)
      gain += (ours - theirs) / 4
    }
    console.log(`dense letters (${mask.data.filter((v) => v > 0).length} px in ${size}x${size}):\n${rows.join('\n')}`)
    expect(gain).toBeGreaterThan(0)
  })

  it('is deterministic for a seed, and the seed matters', async () => {
    const mask = textMask()
    const input = withText(await loadRgb('coffee.png', { left: 20, top: 200, width: W, height: H }), mask)
    const a = await inpaintExemplar(input, mask, { seed: 7 })
    const b = await inpaintExemplar(input, mask, { seed: 7 })
    const c = await inpaintExemplar(input, mask, { seed: 8 })
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true)
    expect(Buffer.from(a.data).equals(Buffer.from(c.data))).toBe(false)
  })

  it('returns the image unchanged for an empty mask, and refuses what it cannot read', async () => {
    const image = stripes()
    const out = await inpaintExemplar(image, { width: W, height: H, channels: 1, data: new Uint8Array(W * H) })
    expect(Buffer.from(out.data).equals(Buffer.from(image.data))).toBe(true)
    await expect(inpaintExemplar({ ...image, channels: 4 }, textMask())).rejects.toThrow(/RGB/)
    await expect(inpaintExemplar(image, textMask(W, H - 1))).rejects.toThrow(/mask/)
  })

  it('falls back to Telea where no whole patch of the photo is known', async () => {
    // Only a 4 px frame is known: no 7 x 7 source patch fits in it.
    const size = 40
    const mask = boxesMask(size, size, [[4, 4, size - 8, size - 8]])
    const image = withText(
      texture((x, y) => [x * 6, y * 6, 128], size, size),
      mask,
    )
    const out = await inpaintExemplar(image, mask)
    expect(Buffer.from(out.data).equals(Buffer.from(inpaintTelea(image, mask, 5).data))).toBe(true)
  })

  it('stops when aborted, with the signal reason, and lets the event loop run meanwhile', async () => {
    const image = await loadRgb('coffee.png')
    const boxes: [number, number, number, number][] = []
    for (let i = 0; i < 24; i++) boxes.push([20 + (i % 4) * 140, 15 + Math.floor(i / 4) * 64, 100, 14])
    const mask = boxesMask(image.width, image.height, boxes)
    const before = new AbortController()
    before.abort(new Error('cancelled before'))
    await expect(inpaintExemplar(image, mask, { signal: before.signal })).rejects.toThrow('cancelled before')

    // Count event-loop turns while a run goes on, and abort it after a few.
    const during = new AbortController()
    let turns = 0
    let done = false
    const tick = () => {
      turns++
      if (turns === 5) during.abort(new Error('cancelled during'))
      if (!done) setImmediate(tick)
    }
    setImmediate(tick)
    const started = performance.now()
    await expect(inpaintExemplar(image, mask, { signal: during.signal })).rejects.toThrow('cancelled during')
    done = true
    expect(turns).toBeGreaterThanOrEqual(5)
    console.log(`exemplar inpaint: aborted after ${turns} event-loop turns, ${(performance.now() - started).toFixed(0)} ms`)
  })

  it('continues textures far better than Telea, and is no worse on smooth areas and photos', async () => {
    const mask = textMask()
    const cases: { name: string; truth: Pixels; margin: number }[] = [
      { name: 'stripes (period 8)', truth: stripes(), margin: 10 },
      { name: 'checkerboard (6 px)', truth: checker(), margin: 10 },
      { name: 'bricks', truth: brick(), margin: 10 },
      { name: 'smooth gradient', truth: gradient(), margin: -1 },
      { name: 'photo: coffee cup', truth: await loadRgb('coffee.png', { left: 220, top: 60, width: W, height: H }), margin: -1 },
      { name: 'photo: wood and saucer', truth: await loadRgb('coffee.png', { left: 20, top: 200, width: W, height: H }), margin: -1 },
    ]
    const rows: string[] = []
    for (const { name, truth, margin } of cases) {
      const input = withText(truth, mask)
      const started = performance.now()
      const exemplar = await inpaintExemplar(input, mask, { seed: 1 })
      const ms = performance.now() - started
      const telea = inpaintTelea(input, mask, 5)
      // Capped: an exact fill (infinite PSNR) still compares.
      const ours = Math.min(99, psnr(inside(exemplar, mask), inside(truth, mask)))
      const theirs = Math.min(99, psnr(inside(telea, mask), inside(truth, mask)))
      rows.push(`${name.padEnd(24)} exemplar ${ours.toFixed(1).padStart(5)} dB   Telea ${theirs.toFixed(1).padStart(5)} dB   (${ms.toFixed(0)} ms)`)
      expect(changedOutside(exemplar, input, mask), name).toBe(0)
      expect(ours, name).toBeGreaterThan(theirs + margin)
    }
    console.log(`PSNR inside the mask (${mask.data.filter((v) => v > 0).length} px of ${W}x${H}):\n${rows.join('\n')}`)
  })

  it('logs the time for 1 MP with 4 % masked in text-like boxes', async () => {
    const image = await resize(await loadRgb('coffee.png'), 1000, 1000)
    const boxes: [number, number, number, number][] = []
    for (let i = 0; i < 10; i++) boxes.push([50 + (i % 3) * 320, 40 + Math.floor(i / 3) * 240 + (i % 3) * 30, 200, 20])
    const mask = boxesMask(1000, 1000, boxes)
    const input = withText(image, mask)
    const times: number[] = []
    let out = input
    for (let run = 0; run < 2; run++) {
      const started = performance.now()
      out = await inpaintExemplar(input, mask, { seed: 1 })
      times.push(performance.now() - started)
    }
    expect(changedOutside(out, input, mask)).toBe(0)
    const started = performance.now()
    const telea = inpaintTelea(input, mask, 5)
    const teleaMs = performance.now() - started
    const ours = psnr(inside(out, mask), inside(image, mask)).toFixed(1)
    const theirs = psnr(inside(telea, mask), inside(image, mask)).toFixed(1)
    console.log(
      `exemplar inpaint, 1000x1000, 10 boxes of 200x20 (4 %): ${times.map((t) => t.toFixed(0)).join(' ms, then ')} ms; ` +
        `PSNR in the mask ${ours} dB (Telea ${theirs} dB in ${teleaMs.toFixed(0)} ms)`,
    )
  })
})
