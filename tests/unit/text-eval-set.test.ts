import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Pixels } from '../../inference/runtime/image'
import {
  type Box,
  buildEvalSet,
  EVAL_IMAGES,
  EVAL_SUBSET,
  type EvalImage,
  evaluate,
  footprintPsnr,
  markdownTable,
  OVERLAY_KINDS,
  psnr,
  recall,
  saveArtifacts,
  summarize,
  textLeft,
  unionArea,
} from '../helpers/text-eval-set'

// The text-removal evaluation set itself: that it is what it claims to be (kinds, backgrounds, sizes),
// that its truth (boxes, footprints) matches what was drawn, and that the metrics score the two extremes right.
let set: EvalImage[]
let dir: string

beforeAll(async () => {
  set = await buildEvalSet()
  dir = await mkdtemp(join(tmpdir(), 'text-eval-set-'))
}, 60_000)
afterAll(() => rm(dir, { recursive: true, force: true }))

const maxDiff = (a: Pixels, b: Pixels, p: number) =>
  Math.max(Math.abs(a.data[p * 3]! - b.data[p * 3]!), Math.abs(a.data[p * 3 + 1]! - b.data[p * 3 + 1]!), Math.abs(a.data[p * 3 + 2]! - b.data[p * 3 + 2]!))

/** 1 inside any of the boxes grown by `grow` px. */
function nearBoxes(image: EvalImage, grow: number): Uint8Array {
  const { width, height } = image.clean
  const near = new Uint8Array(width * height)
  for (const [x0, y0, x1, y1] of image.boxes)
    for (let y = Math.max(0, y0 - grow); y < Math.min(height, y1 + grow); y++)
      near.fill(1, y * width + Math.max(0, x0 - grow), y * width + Math.min(width, x1 + grow))
  return near
}

describe('composition', () => {
  it('has >= 48 images, 8 of each kind, with unique names, in the order EVAL_IMAGES lists', () => {
    expect(set.length).toBeGreaterThanOrEqual(48)
    for (const kind of OVERLAY_KINDS) expect(set.filter((image) => image.kind === kind)).toHaveLength(8)
    expect(new Set(set.map((image) => image.name)).size).toBe(set.length)
    expect(set.map((image) => image.name)).toEqual(EVAL_IMAGES.map((e) => e.name))
  })

  it('draws on >= 20 distinct backgrounds, each kind on 8 different ones', () => {
    expect(new Set(set.map((image) => image.background)).size).toBeGreaterThanOrEqual(20)
    for (const kind of OVERLAY_KINDS) expect(new Set(set.filter((image) => image.kind === kind).map((image) => image.background)).size).toBe(8)
  })

  it('varies sizes from under 400 px to at least 900 px on the long side', () => {
    const longSides = set.map((image) => Math.max(image.clean.width, image.clean.height))
    expect(Math.min(...longSides)).toBeLessThan(400)
    expect(Math.max(...longSides)).toBeGreaterThanOrEqual(900)
    for (const image of set) {
      expect(image.overlaid.data.length).toBe(image.clean.width * image.clean.height * 3)
      expect(image.footprint).toMatchObject({ width: image.clean.width, height: image.clean.height, channels: 1 })
    }
  })

  // The subset test below checks the same for crops of the photos, built in yet another build.
  it('is deterministic: building an image alone, twice, gives the same bytes as in the whole set', async () => {
    const names = ['shadowed-grain', 'watermark-brick']
    const [first, second] = [await buildEvalSet({ names }), await buildEvalSet({ names })]
    expect(first.map((image) => image.name).sort()).toEqual([...names].sort())
    for (const [i, image] of first.entries()) {
      const whole = set.find((s) => s.name === image.name)!
      for (const other of [second[i]!, whole]) {
        expect(Buffer.compare(Buffer.from(image.overlaid.data), Buffer.from(other.overlaid.data))).toBe(0)
        expect(Buffer.compare(Buffer.from(image.clean.data), Buffer.from(other.clean.data))).toBe(0)
        expect(Buffer.compare(Buffer.from(image.footprint.data), Buffer.from(other.footprint.data))).toBe(0)
        expect(other.boxes).toEqual(image.boxes)
      }
    }
  })

  it('refuses names it does not know', async () => {
    await expect(buildEvalSet({ names: ['caption-nowhere'] })).rejects.toThrow(/unknown/)
  })
})

describe('truth', () => {
  it('keeps every line inside the image, and the overlay visibly changed >= 5 % of each true box', () => {
    for (const image of set) {
      const { width, height } = image.clean
      expect(image.boxes.length, image.name).toBeGreaterThanOrEqual(1)
      expect(image.texts).toHaveLength(image.boxes.length)
      for (const [x0, y0, x1, y1] of image.boxes) {
        expect(x1 > x0 && y1 > y0, image.name).toBe(true)
        expect(x0 >= 1 && y0 >= 1 && x1 <= width - 1 && y1 <= height - 1, `${image.name} ${[x0, y0, x1, y1]}`).toBe(true)
        let changed = 0
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (maxDiff(image.overlaid, image.clean, y * width + x) > 8) changed++
        expect(changed / ((x1 - x0) * (y1 - y0)), image.name).toBeGreaterThanOrEqual(0.05)
      }
    }
  })

  it('changed nothing outside the footprint, and the footprint stays within a few px of the true boxes', () => {
    for (const image of set) {
      // 2 px of growth plus the faint (alpha <= 24) fringe of outlines and blurred shadows outside a box.
      const near = nearBoxes(image, 6)
      let outsideFootprint = 0
      let footprintAway = 0
      for (let p = 0; p < near.length; p++) {
        if (!image.footprint.data[p] && maxDiff(image.overlaid, image.clean, p) > 2) outsideFootprint++
        if (image.footprint.data[p] && !near[p]) footprintAway++
      }
      expect(outsideFootprint, image.name).toBe(0)
      expect(footprintAway, image.name).toBe(0)
    }
  })

  it("covers each box's text: the footprint holds every visibly changed pixel and >= 20 % of each box", () => {
    for (const image of set) {
      const { width } = image.clean
      for (const [x0, y0, x1, y1] of image.boxes) {
        let inside = 0
        let missed = 0
        for (let y = y0; y < y1; y++)
          for (let x = x0; x < x1; x++) {
            const p = y * width + x
            if (image.footprint.data[p]) inside++
            else if (maxDiff(image.overlaid, image.clean, p) > 8) missed++
          }
        expect(missed, image.name).toBe(0)
        expect(inside / ((x1 - x0) * (y1 - y0)), image.name).toBeGreaterThanOrEqual(0.2)
      }
      expect(image.footprint.data.every((v) => v === 0 || v === 255)).toBe(true)
    }
  })
})

describe('metrics', () => {
  it('psnr: 99 dB for identical images, finite and lower for the overlaid ones', () => {
    const image = set[0]!
    expect(psnr(image.clean, image.clean)).toBe(99)
    expect(footprintPsnr(image.clean, image.clean, image.footprint)).toBe(99)
    const input = psnr(image.overlaid, image.clean)
    expect(input).toBeGreaterThan(5)
    expect(input).toBeLessThan(60)
    expect(footprintPsnr(image.overlaid, image.clean, image.footprint)).toBeLessThan(input)
    expect(() => psnr(image.clean, set.find((s) => s.clean.width !== image.clean.width)!.clean)).toThrow(/size/)
  })

  it('evaluate: the clean original as a result gains and leaves no text; the input unchanged gains 0 and leaves all of it', () => {
    for (const image of set) {
      const perfect = evaluate(image, image.clean, image.boxes)
      expect(perfect.textLeft, image.name).toBe(0)
      expect(perfect.gain, image.name).toBeGreaterThan(0)
      expect(perfect.outputPsnr).toBe(99)
      expect(perfect.footprintPsnr).toBe(99)
      expect(perfect.recall).toBe(1)
      const nothing = evaluate(image, image.overlaid, [])
      expect(nothing.gain, image.name).toBe(0)
      expect(nothing.textLeft, image.name).toBe(1)
      expect(nothing.recall).toBe(0)
      expect(nothing.footprintPsnr).toBe(nothing.inputFootprintPsnr)
    }
  })

  it('textLeft counts the half of the text a result repaired', () => {
    const image = set.find((s) => s.name === 'meme-camera')!
    const { width } = image.clean
    const half = Math.floor(width / 2)
    const data = new Uint8Array(image.overlaid.data)
    for (let p = 0; p < image.footprint.data.length; p++) if (p % width < half) data.set(image.clean.data.subarray(p * 3, p * 3 + 3), p * 3)
    const left = textLeft({ ...image.clean, data }, image.overlaid, image.clean, image.footprint)
    expect(left).toBeGreaterThan(0.3)
    expect(left).toBeLessThan(0.7)
  })

  it('recall: whole boxes at IoU >= 0.5, lines split into words, but not a fragment or a box far too large', () => {
    const line: Box = [10, 10, 110, 30]
    expect(recall([line], [line])).toBe(1)
    expect(recall([], [line])).toBe(0)
    expect(recall([[14, 8, 112, 31]], [line])).toBe(1)
    // Three words of one line, found separately.
    expect(
      recall(
        [
          [10, 10, 40, 30],
          [44, 11, 72, 30],
          [76, 10, 110, 29],
        ],
        [line],
      ),
    ).toBe(1)
    // Only the first word: 30 % of the line.
    expect(recall([[10, 10, 40, 30]], [line])).toBe(0)
    // One box around the line and a lot more (IoU 0.2), and two halves, each mostly inside, stretching far below it (1.9x its area).
    expect(recall([[0, 0, 200, 50]], [line])).toBe(0)
    expect(
      recall(
        [
          [10, 10, 60, 48],
          [60, 10, 110, 48],
        ],
        [line],
      ),
    ).toBe(0)
    expect(
      recall(
        [
          [10, 10, 60, 34],
          [60, 10, 110, 34],
        ],
        [line],
      ),
    ).toBe(1)
    // Two lines, one found.
    expect(recall([line], [line, [10, 40, 110, 60]])).toBe(0.5)
    expect(unionArea([line, [60, 10, 160, 30], [0, 0, 0, 0]])).toBe(3000)
  })

  it('summarize and markdownTable: per kind and overall means, worst gain, images made worse', () => {
    const images = OVERLAY_KINDS.map((kind) => set.find((s) => s.kind === kind)!)
    const rows = images.map((image, i) => (i === 0 ? evaluate(image, image.clean, image.boxes) : evaluate(image, image.overlaid, [])))
    // A result worse than the input: the overlaid image darkened everywhere.
    const worse = images[1]!
    rows.push({ ...evaluate(worse, { ...worse.overlaid, data: worse.overlaid.data.map((v) => v >> 1) }, []), name: 'darkened' })
    const summary = summarize(rows)
    expect(summary.byKind.map((s) => s.kind)).toEqual(OVERLAY_KINDS)
    expect(summary.overall).toMatchObject({ kind: 'all', images: 7, worse: 1, worstName: 'darkened' })
    expect(summary.overall.worstGain).toBeLessThan(0)
    expect(summary.byKind[0]).toMatchObject({ images: 1, textLeft: 0, recall: 1 })
    expect(summary.byKind[1]!.images).toBe(2)
    expect(summary.overall.gain).toBeCloseTo(rows.reduce((sum, row) => sum + row.gain, 0) / rows.length, 10)
    const table = markdownTable(summary).split('\n')
    expect(table).toHaveLength(2 + OVERLAY_KINDS.length + 1)
    expect(table.at(-1)).toMatch(/^\| all \| 7 \|/)
  })

  it('saveArtifacts writes overlaid | result | clean, with a mask row when given one', async () => {
    const image = set.find((s) => s.name === 'date-stamp-chelsea')!
    const { width, height } = image.clean
    expect(await sharp(await saveArtifacts(dir, image, image.clean)).metadata()).toMatchObject({ format: 'png', width: 3 * width + 8, height })
    const path = await saveArtifacts(dir, image, image.clean, image.footprint)
    expect(await sharp(path).metadata()).toMatchObject({ width: 3 * width + 8, height: 2 * height + 4 })
  })
})

describe('EVAL_SUBSET, for the CI quality gate', () => {
  it('names 2 images per kind that exist, <= 2.5 MP together, and builds exactly those, as in the whole set', async () => {
    expect(EVAL_SUBSET.length).toBe(12)
    for (const name of EVAL_SUBSET)
      expect(
        EVAL_IMAGES.some((e) => e.name === name),
        name,
      ).toBe(true)
    for (const kind of OVERLAY_KINDS) expect(EVAL_IMAGES.filter((e) => e.kind === kind && EVAL_SUBSET.includes(e.name))).toHaveLength(2)
    const subset = await buildEvalSet({ subset: true })
    expect(subset.map((image) => image.name).sort()).toEqual([...EVAL_SUBSET].sort())
    expect(subset.reduce((sum, image) => sum + image.clean.width * image.clean.height, 0)).toBeLessThanOrEqual(2_500_000)
    for (const image of subset)
      expect(Buffer.compare(Buffer.from(image.overlaid.data), Buffer.from(set.find((s) => s.name === image.name)!.overlaid.data))).toBe(0)
  })
})
