import { describe, expect, it } from 'vitest'
import { maskFromBoxes } from '../../inference/models/text-detector'
import { letterMask } from '../../inference/runtime/letter-mask'
import { buildEvalSet, type EvalImage } from '../helpers/text-eval-set'

/**
 * The letter mask from the true boxes of drawn text (no detector here): it must cover the pixels
 * the overlay changed visibly and leave most of each box alone.
 */
function coverage(image: EvalImage, mask: Uint8Array) {
  const { width } = image.clean
  let changed = 0
  let covered = 0
  for (const [x0, y0, x1, y1] of image.boxes)
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        const p = y * width + x
        let visible = false
        for (let c = 0; c < 3; c++) visible ||= Math.abs(image.overlaid.data[p * 3 + c]! - image.clean.data[p * 3 + c]!) > 24
        if (!visible) continue
        changed++
        if (mask[p]) covered++
      }
  // The box mask it replaces: each box grown by the detector's margin (maskFromBoxes).
  const boxMask = maskFromBoxes(
    width,
    image.clean.height,
    image.boxes.map((box) => ({ box, score: 1 })),
  )
  const area = (data: Uint8Array) => data.reduce((n, v) => n + (v ? 1 : 0), 0)
  return { covered: covered / changed, share: area(mask) / area(boxMask.data) }
}

describe('letterMask', () => {
  it.each([
    ['caption-astronaut', 'white letters with a black outline'],
    ['shadowed-chelsea-eye', 'coloured letters with a drop shadow'],
    ['date-stamp-chelsea', 'a small orange date stamp'],
    ['watermark-camera-coat', 'a semi-transparent white watermark (found by its mixing)'],
    ['dark-watermark-chelsea-bokeh', 'a semi-transparent dark watermark'],
  ])('%s (%s): covers 9 in 10 of the visibly changed pixels or more, with under 3/4 of the box mask area', async (name) => {
    const [image] = await buildEvalSet({ names: [name] })
    const { mask, method } = letterMask(image!.overlaid, image!.boxes)
    const { covered, share } = coverage(image!, mask.data)
    console.log(
      `${name} (${method.join(', ')}): ${(100 * covered).toFixed(1)} % of the visible text covered; mask ${(100 * share).toFixed(1)} % of the box mask`,
    )
    expect(method.every((m) => m === 'letters')).toBe(true)
    expect(covered).toBeGreaterThanOrEqual(0.9)
    expect(share).toBeLessThan(0.75)
  })

  it('falls back to the grown box where nothing separates (a box on plain grey)', () => {
    const width = 80
    const height = 40
    const grey = { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(128) }
    const { mask, method } = letterMask(grey, [[20, 10, 60, 30]])
    expect(method).toEqual(['box'])
    expect(mask.data[20 * width + 40]).toBe(255)
    expect(mask.data[2 * width + 2]).toBe(0)
  })

  it('keeps the letters to the detector band when one is given: a band-less half of the box gets no mask', async () => {
    const [image] = await buildEvalSet({ names: ['caption-astronaut'] })
    const box = image!.boxes[0]!
    const w = box[2] - box[0]
    const h = box[3] - box[1]
    // A band over the left half of the box only.
    const band = { data: Uint8Array.from({ length: w * h }, (_, i) => (i % w < w / 2 ? 1 : 0)), grow: 0 }
    const { mask } = letterMask(image!.overlaid, [box], { bands: [band] })
    let right = 0
    for (let y = box[1]; y < box[3]; y++) for (let x = box[0] + Math.ceil(w / 2) + 4; x < box[2]; x++) right += mask.data[y * image!.clean.width + x] ? 1 : 0
    expect(right).toBe(0)
  })
})
