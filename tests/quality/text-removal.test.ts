import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { detectText, maskFromBoxes } from '../../inference/models/text-detector'
import type { StepReport } from '../../contracts/service'
import { combineMasks, findText, loadOcr, removalReport, removeText, textMask, textRemovalClassic, type OcrModels } from '../../inference/models/text-removal'
import type { Pixels } from '../../inference/runtime/image'
import { inpaintTelea } from '../../inference/runtime/inpaint'
import { loadModel } from '../../inference/runtime/model-files'
import { loadRgb } from '../helpers/images'
import { buildEvalSet, type EvalRow, evaluate, markdownTable, saveArtifacts, summarize } from '../helpers/text-eval-set'
import { blurFill, buildOverlaySet, iou, maskedPsnr, maskedSsim, type OverlaySample } from '../helpers/text-overlays'

let ocr: OcrModels
let set: OverlaySample[]
const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })
/** What the detector and recogniser find on each overlaid image, found once and shared by the tests below. */
const found = new Map<OverlaySample, ReturnType<typeof findText>>()
const foundOn = (sample: OverlaySample) => {
  if (!found.has(sample)) found.set(sample, findText(ocr, sample.overlaid))
  return found.get(sample)!
}

beforeAll(async () => {
  ocr = await loadOcr()
  await loadModel(textRemovalClassic)
  set = await buildOverlaySet()
})

describe('PP-OCRv4 detector', () => {
  it('finds the lines of a real scan of print (page.png)', async () => {
    const page = await loadRgb('page.png')
    const boxes = await detectText(ocr.detector, page)
    // The title, five lines of body text and the code line.
    expect(boxes.length).toBeGreaterThanOrEqual(7)
    const wide = boxes.filter((b) => b.box[2] - b.box[0] > page.width * 0.6)
    expect(wide.length).toBeGreaterThanOrEqual(4)
    const read = await findText(ocr, page)
    expect(read[0]!.text).toBe('Region-based segmentation')
  })

  it('finds nothing on photos without text, dropping what only looks like text (a cup)', async () => {
    expect(await findText(ocr, await loadRgb('chelsea.png'))).toEqual([])
    // The raw detector takes coffee.png's cup for a letter; the recogniser cannot read it.
    expect((await detectText(ocr.detector, await loadRgb('coffee.png'))).length).toBeGreaterThan(0)
    expect(await findText(ocr, await loadRgb('coffee.png'))).toEqual([])
    // Crops of the cat under 850 px get the second look, enlarged 2x: there an eye reads as "D" or "0", one letter.
    for (const image of await buildEvalSet({ names: ['shadowed-chelsea-eye', 'watermark-chelsea-fur'] })) {
      expect(await findText(ocr, image.clean), image.background).toEqual([])
    }
  })

  it('reads a line tilted by 15 degrees along its own rectangle, with a box around the whole line', async () => {
    // White text on grey, rotated: its upright box is mostly background, which the old fill check took for an outline.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320"><rect width="480" height="320" fill="#6b7280"/>
      <text x="240" y="175" font-family="DejaVu Serif" font-size="34" text-anchor="middle" fill="#ffffff" transform="rotate(15 240 165)">stockphoto.example</text></svg>`
    const data = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer()
    const image: Pixels = { width: 480, height: 320, channels: 3, data: new Uint8Array(data) }
    const lines = await findText(ocr, image)
    expect(lines.map((l) => l.text)).toEqual(['stockphoto.example'])
    const [x0, y0, x1, y1] = lines[0]!.box
    // The rotated line spans about 330 x 120 px around (240, 165).
    expect(x1 - x0).toBeGreaterThan(300)
    expect(y1 - y0).toBeGreaterThan(90)
    expect(lines[0]!.line?.angle).toBeCloseTo((15 * Math.PI) / 180, 1)
  })

  it('recalls >= 90% of drawn captions, watermarks and timestamps at IoU >= 0.5', { timeout: 180_000 }, async () => {
    let hits = 0
    let total = 0
    for (const sample of set) {
      const boxes = await foundOn(sample)
      for (const truth of sample.boxes) {
        total++
        if (boxes.some((f) => iou(f.box, truth) >= 0.5)) hits++
      }
    }
    console.log(`detector recall: ${hits}/${total} = ${(hits / total).toFixed(3)} on ${set.length} images`)
    expect(total).toBeGreaterThanOrEqual(15)
    expect(hits / total).toBeGreaterThanOrEqual(0.9)
  })
})

describe('text removal (detector, letter masks, judged fill)', () => {
  it('leaves no detectable text on >= 90% of the images: none the recogniser reads, and no raw detector box above its threshold that the clean original lacks', {
    timeout: 900_000,
  }, async () => {
    let unread = 0
    let noNewBox = 0
    let noBox = 0
    let originalsWithoutBox = 0
    for (const sample of set) {
      const removed = await textRemovalClassic.process(sample.overlaid, { model: 'text-removal', scale: 1, maskMode: 'detected' }, context())
      if ((await findText(ocr, removed)).length === 0) unread++
      // The raw detector (boxes scoring above its box threshold, no recogniser filter) also fires on
      // clean photos (coffee.png's cup): read literally, "no box at all" fails on the clean originals
      // themselves (logged), so a box the clean original has too does not count as text left behind.
      const after = await detectText(ocr.detector, removed)
      const original = await detectText(ocr.detector, sample.clean)
      if (after.length === 0) noBox++
      if (original.length === 0) originalsWithoutBox++
      if (after.every((b) => original.some((o) => iou(o.box, b.box) >= 0.5))) noNewBox++
    }
    console.log(
      `after removal, of ${set.length}: no readable text ${unread}; no raw detector box the original lacks ${noNewBox}; no raw detector box at all ${noBox} (the clean originals: ${originalsWithoutBox})`,
    )
    expect(unread / set.length).toBeGreaterThanOrEqual(0.9)
    expect(noNewBox / set.length).toBeGreaterThanOrEqual(0.9)
  })

  it('inside the mask, Telea beats a blur fill on PSNR and SSIM against the clean originals', { timeout: 900_000 }, async () => {
    const score = { telea: { psnr: 0, ssim: 0 }, blur: { psnr: 0, ssim: 0 } }
    for (const sample of set) {
      const mask = maskFromBoxes(sample.clean.width, sample.clean.height, await foundOn(sample))
      const telea = inpaintTelea(sample.overlaid, mask)
      const blur = await blurFill(sample.overlaid, mask)
      score.telea.psnr += maskedPsnr(telea, sample.clean, mask) / set.length
      score.telea.ssim += maskedSsim(telea, sample.clean, mask) / set.length
      score.blur.psnr += maskedPsnr(blur, sample.clean, mask) / set.length
      score.blur.ssim += maskedSsim(blur, sample.clean, mask) / set.length
    }
    console.log(
      `inside the mask, mean over ${set.length} images: Telea PSNR ${score.telea.psnr.toFixed(2)} dB SSIM ${score.telea.ssim.toFixed(3)}; blur fill PSNR ${score.blur.psnr.toFixed(2)} dB SSIM ${score.blur.ssim.toFixed(3)}`,
    )
    expect(score.telea.psnr).toBeGreaterThan(score.blur.psnr)
    expect(score.telea.ssim).toBeGreaterThan(score.blur.ssim)
  })

  it('changes nothing outside the mask', { timeout: 120_000 }, async () => {
    const sample = set[0]!
    const mask = maskFromBoxes(sample.clean.width, sample.clean.height, await foundOn(sample))
    const out = inpaintTelea(sample.overlaid, mask)
    for (let p = 0; p < mask.data.length; p++) if (!mask.data[p]) for (let c = 0; c < 3; c++) expect(out.data[p * 3 + c]).toBe(sample.overlaid.data[p * 3 + c])
  })

  it('honours the mask mode: the user mask alone, or added to the detected one', { timeout: 120_000 }, async () => {
    const sample = set[1]!
    const { width, height } = sample.clean
    const user: Pixels = { width, height, channels: 1, data: new Uint8Array(width * height) }
    for (let y = 100; y < 140; y++) user.data.fill(255, y * width + 100, y * width + 160)
    const detected = maskFromBoxes(width, height, await foundOn(sample))
    const union = combineMasks(detected, user, 'both')
    expect(combineMasks(detected, user, 'user')).toBe(user)
    expect(combineMasks(detected, user, 'detected')).toBe(detected)
    expect(union.data.reduce((n, v) => n + (v ? 1 : 0), 0)).toBeGreaterThan(detected.data.reduce((n, v) => n + (v ? 1 : 0), 0))
    const onlyUser = await textRemovalClassic.process(sample.overlaid, { model: 'text-removal', scale: 1, maskMode: 'user' }, { ...context(), mask: user })
    let changedOutside = 0
    for (let p = 0; p < user.data.length; p++) if (!user.data[p] && onlyUser.data[p * 3] !== sample.overlaid.data[p * 3]) changedOutside++
    expect(changedOutside).toBe(0)
  })
})

/**
 * The default removal on the CI subset of the evaluation set (tests/helpers/text-eval-set.ts: 12
 * images, two per overlay kind), scored on the whole image against the clean original, next to
 * the old default (the detector's grown boxes filled by Telea) on the same detections. The
 * thresholds sit below what was measured (bench/results/remove-text.md has the whole set); the
 * issue's targets (no image worse, +8 dB, 22 dB in the footprint, <= 2 % left) are not all met yet.
 */
describe('text removal on the evaluation subset (letter masks, judged fill, guard)', () => {
  const rows: { before: EvalRow; after: EvalRow; maskShare: number; regions: number; report: StepReport }[] = []
  beforeAll(async () => {
    for (const image of await buildEvalSet({ subset: true })) {
      const found = await findText(ocr, image.overlaid)
      const boxes = found.map((f) => f.box)
      const boxMask = textMask(image.overlaid, found, 'box')
      const before = evaluate(image, inpaintTelea(image.overlaid, boxMask), boxes)
      const removed = await removeText(ocr, image.overlaid, { found })
      const area = (mask: Pixels) => mask.data.reduce((n, v) => n + (v ? 1 : 0), 0)
      rows.push({
        before,
        after: evaluate(image, removed.image, boxes),
        maskShare: area(removed.mask) / Math.max(1, area(boxMask)),
        regions: removed.regions.length,
        report: removalReport(removed.regions),
      })
      await saveArtifacts('test-results/text-removal', image, removed.image, removed.mask)
    }
    console.log(`before (box mask + Telea):\n${markdownTable(summarize(rows.map((r) => r.before)))}`)
    console.log(`after (default):\n${markdownTable(summarize(rows.map((r) => r.after)))}`)
  })

  it('brings the whole photo closer to the clean original: mean gain >= 6 dB and >= 2 dB more than box + Telea; at most 1 of 12 worse, by < 2 dB', () => {
    const before = summarize(rows.map((r) => r.before)).overall
    const after = summarize(rows.map((r) => r.after)).overall
    expect(rows).toHaveLength(12)
    expect(after.gain).toBeGreaterThanOrEqual(6)
    expect(after.gain).toBeGreaterThanOrEqual(before.gain + 2)
    expect(after.worse).toBeLessThanOrEqual(1)
    expect(after.worstGain).toBeGreaterThan(-2)
  })

  it('restores the text footprint better than box + Telea (mean PSNR >= 20 dB, >= 2 dB more), with <= 6 % of text pixels left', () => {
    const before = summarize(rows.map((r) => r.before)).overall
    const after = summarize(rows.map((r) => r.after)).overall
    expect(after.footprintPsnr).toBeGreaterThanOrEqual(20)
    expect(after.footprintPsnr).toBeGreaterThanOrEqual(before.footprintPsnr + 2)
    expect(after.textLeft).toBeLessThanOrEqual(0.06)
  })

  it('finds every drawn line of every kind, light watermarks (one rotated) included', () => {
    const summary = summarize(rows.map((r) => r.after))
    expect(summary.overall.recall).toBe(1)
    for (const kind of summary.byKind) expect(kind.recall, kind.kind).toBe(1)
  })

  it('masks the letters, not their boxes: the mask is under 70 % of the box mask on average, and the report counts every region', () => {
    const share = rows.reduce((sum, r) => sum + r.maskShare, 0) / rows.length
    console.log(`letter mask / box mask area: ${(100 * share).toFixed(1)} % on average`)
    expect(share).toBeLessThan(0.7)
    for (const { regions, report } of rows) expect(report.counts.removed! + report.counts.kept!).toBe(regions)
  })
})

describe('the guard on a faint watermark over a face (watermark-astronaut)', () => {
  /**
   * Its white SAMPLE over the face is found in part ("AMPLE"), and unmixing it takes the white teeth for letters;
   * every fill scores less natural than the original there. The region is kept and reported, so the photo is
   * not left worse than it was (unblended: -0.17 dB on the whole image).
   */
  it('keeps the region as it was where the original looks more natural than every fill, and says so', { timeout: 900_000 }, async () => {
    const [image] = await buildEvalSet({ names: ['watermark-astronaut'] })
    const removed = await removeText(ocr, image!.overlaid)
    const row = evaluate(
      image!,
      removed.image,
      removed.found.map((f) => f.box),
    )
    const kept = removed.regions.filter((r) => r.used === 'original')
    expect(kept.length).toBeGreaterThanOrEqual(1)
    for (const region of kept)
      for (const fill of ['telea', 'exemplar', 'unblend'] as const)
        if (region.scores[fill] !== undefined) expect(region.scores.original!).toBeLessThan(region.scores[fill]!)
    expect(removalReport(removed.regions).counts.kept).toBe(kept.length)
    expect(row.gain).toBeGreaterThanOrEqual(0)
  })
})
