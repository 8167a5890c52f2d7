import { describe, expect, it } from 'vitest'
import { removalReport } from '../../inference/models/text-removal'
import type { Pixels } from '../../inference/runtime/image'
import { fillRegions } from '../../inference/runtime/region-fill'

/** Synthetic photos whose truth is known: the fill's choice per region is checked against it. */
const W = 160
const H = 96

function image(f: (x: number, y: number) => [number, number, number]): Pixels {
  const data = new Uint8Array(W * H * 3)
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set(f(x, y), (y * W + x) * 3)
  return { width: W, height: H, channels: 3, data }
}

/** A fine grain texture (seeded hash noise around a mid grey-green), like grass or foliage. */
const grain = image((x, y) => {
  const n = (((x * 73856093) ^ (y * 19349663)) >>> 0) % 61
  return [70 + n, 110 + n, 50 + n]
})
const gradient = image((x, y) => [60 + x, 90 + y, 200 - x / 2])

/** Bars standing in for letter strokes: three 3 px wide strokes 14 px tall, per "letter", in a row. */
function strokes(x0: number, y0: number, letters: number): Pixels {
  const data = new Uint8Array(W * H)
  for (let l = 0; l < letters; l++)
    for (let s = 0; s < 3; s++) for (let y = y0; y < y0 + 14; y++) for (let x = x0 + l * 14 + s * 4; x < x0 + l * 14 + s * 4 + 3; x++) data[y * W + x] = 255
  return { width: W, height: H, channels: 1, data }
}

/** The photo with `colour` at `opacity` over the mask's pixels. */
function overlay(photo: Pixels, mask: Pixels, colour: number, opacity: number): Pixels {
  const data = new Uint8Array(photo.data)
  for (let p = 0; p < mask.data.length; p++)
    if (mask.data[p]) for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(opacity * colour + (1 - opacity) * photo.data[p * 3 + c]!)
  return { ...photo, data }
}

function maskedPsnr(a: Pixels, b: Pixels, mask: Pixels) {
  let sum = 0
  let n = 0
  for (let p = 0; p < mask.data.length; p++)
    if (mask.data[p])
      for (let c = 0; c < 3; c++) {
        sum += (a.data[p * 3 + c]! - b.data[p * 3 + c]!) ** 2
        n++
      }
  return sum === 0 ? 99 : 10 * Math.log10((255 * 255 * n) / sum)
}

/** The mask grown by one pixel (the halo a letter mask carries). */
function grown(mask: Pixels): Pixels {
  const data = new Uint8Array(mask.data.length)
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) if (mask.data[Math.min(H - 1, Math.max(0, y + dy)) * W + Math.min(W - 1, Math.max(0, x + dx))]) data[y * W + x] = 255
  return { ...mask, data }
}

describe('fillRegions', () => {
  it('returns the image untouched and no regions for an empty mask', async () => {
    const empty = { width: W, height: H, channels: 1, data: new Uint8Array(W * H) }
    const { image: out, regions } = await fillRegions(grain, empty)
    expect(regions).toEqual([])
    expect(out.data).toEqual(grain.data)
  })

  it('undoes a 50 % white watermark over grain, keeping the texture (unblend), and leaves every pixel outside the mask as it was', async () => {
    const letters = strokes(20, 30, 6)
    const marked = overlay(grain, letters, 255, 0.5)
    const mask = grown(letters)
    const { image: out, regions } = await fillRegions(marked, mask)
    console.log(`50 % white strokes over grain: ${JSON.stringify(regions[0]!.scores)}`)
    expect(regions).toHaveLength(1)
    expect(regions[0]!.used).toBe('unblend')
    const inside = maskedPsnr(out, grain, mask)
    console.log(
      `50 % white strokes over grain: ${maskedPsnr(marked, grain, mask).toFixed(1)} dB before, ${inside.toFixed(1)} dB after (${JSON.stringify(regions[0]!.scores)})`,
    )
    expect(inside).toBeGreaterThan(35)
    for (let p = 0; p < W * H; p++) if (!mask.data[p]) for (let c = 0; c < 3; c++) expect(out.data[p * 3 + c]).toBe(marked.data[p * 3 + c])
  })

  it('undoes a 60 % black watermark the same way', async () => {
    const letters = strokes(30, 50, 5)
    const { image: out, regions } = await fillRegions(overlay(grain, letters, 0, 0.6), grown(letters))
    console.log(`60 % black strokes over grain: ${JSON.stringify(regions[0]!.scores)}`)
    expect(regions[0]!.used).toBe('unblend')
    expect(maskedPsnr(out, grain, grown(letters))).toBeGreaterThan(30)
  })

  it('fills opaque text on a smooth gradient so the region is far closer to the truth than before', async () => {
    const letters = strokes(40, 40, 5)
    const marked = overlay(gradient, letters, 255, 1)
    const { image: out, regions } = await fillRegions(marked, grown(letters))
    expect(regions[0]!.used).not.toBe('original')
    expect(regions[0]!.used).not.toBe('unblend')
    expect(maskedPsnr(out, gradient, grown(letters))).toBeGreaterThan(maskedPsnr(marked, gradient, grown(letters)) + 20)
  })

  it('rehearses both guesses on a copy of the mask beside the region, where the truth is known, and uses the one that did better there', async () => {
    // Vertical stripes: patches continue them through the letters, a diffusion smears them grey.
    const stripes = image((x) => (x % 6 < 3 ? [40, 60, 40] : [200, 210, 190]))
    const letters = strokes(30, 20, 5)
    const { image: out, regions } = await fillRegions(overlay(stripes, letters, 255, 1), grown(letters))
    const { rehearsed, used } = regions[0]!
    console.log(`opaque strokes over stripes: rehearsed ${JSON.stringify(rehearsed)}, used ${used}`)
    expect(rehearsed!.exemplar).toBeLessThan(rehearsed!.telea / 2)
    expect(used).toBe('exemplar')
    expect(maskedPsnr(out, stripes, grown(letters))).toBeGreaterThan(25)
    // A mask with no room beside it for a copy: no rehearsal, the judge alone decides.
    const wide = { width: W, height: H, channels: 1, data: new Uint8Array(W * H) }
    for (let y = 10; y < H - 10; y++) wide.data.fill(255, y * W + 10, y * W + W - 10)
    expect((await fillRegions(overlay(stripes, wide, 255, 1), wide)).regions[0]!.rehearsed).toBeUndefined()
  })

  it('keeps the original where a region holds no text (a false detection on texture), and reports it', async () => {
    const box = { width: W, height: H, channels: 1, data: new Uint8Array(W * H) }
    for (let y = 30; y < 50; y++) box.data.fill(255, y * W + 40, y * W + 120)
    const stripes = image((x) => (x % 6 < 3 ? [30, 30, 30] : [220, 220, 220]))
    const { image: out, regions } = await fillRegions(stripes, box, { method: 'telea' })
    expect(regions[0]!.used).toBe('original')
    expect(out.data).toEqual(stripes.data)
    expect(removalReport(regions)).toEqual({
      summary: 'Removed 0 text regions; kept 1 region as it was: no fill looked more natural there.',
      counts: { removed: 0, kept: 1 },
    })
  })

  it('always fills what the user painted, and fills everything when the guard is off', async () => {
    const box = { width: W, height: H, channels: 1, data: new Uint8Array(W * H) }
    for (let y = 30; y < 50; y++) box.data.fill(255, y * W + 40, y * W + 120)
    const stripes = image((x) => (x % 6 < 3 ? [30, 30, 30] : [220, 220, 220]))
    expect((await fillRegions(stripes, box, { method: 'telea', userMask: box })).regions[0]!.used).toBe('telea')
    expect((await fillRegions(stripes, box, { method: 'telea', guard: false })).regions[0]!.used).toBe('telea')
  })

  it('stops when aborted', async () => {
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    await expect(fillRegions(grain, strokes(20, 30, 3), { method: 'telea', signal: controller.signal })).rejects.toThrow('stop')
  })

  it('words the report for removals only and for no text', () => {
    expect(removalReport([])).toEqual({ summary: 'No text found to remove.', counts: { removed: 0, kept: 0 } })
    const region = { box: [0, 0, 1, 1] as [number, number, number, number], used: 'telea' as const, scores: {}, userPainted: false }
    expect(removalReport([region, region]).summary).toBe('Removed 2 text regions.')
  })
})
