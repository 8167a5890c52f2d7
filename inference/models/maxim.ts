import type { InferenceSession } from 'onnxruntime-node'
import sharp from 'sharp'
import type { ModelTask } from '../../contracts/service'
import type { Pixels } from '../runtime/image'
import { loadSession, runImageSession } from '../runtime/sessions'
import { runTiled } from '../runtime/tiling'
import type { ModelAdapter } from './adapter'

interface MaximVariant {
  id: string
  task: ModelTask
  title: string
  description: string
  npmPackage: string
}

/**
 * MAXIM (UpscalerJS's maxim-* packages) is a TF.js graph model converted to ONNX for one fixed
 * tile size. Its sides must be multiples of 64 (the package's divisibilityFactor); 256 keeps a
 * tile's working set moderate while giving the model's global (grid) mixing enough context.
 * It reads and writes RGB in 0..1.
 */
export const MAXIM_TILE = 256
/** Context around each kept core: MAXIM mixes over the whole tile, so a wide margin hides seams. */
const MAXIM_MARGIN = Number(process.env.MAXIM_TILE_MARGIN) || 32

export function maximAdapter(variant: MaximVariant, tile = MAXIM_TILE): ModelAdapter {
  const onnxFile = `${variant.id}-${tile}.onnx`
  let session: InferenceSession | null = null
  return {
    info: { id: variant.id, task: variant.task, title: variant.title, description: variant.description, scales: [1] },
    weights: [{ onnxFile, npmPackage: variant.npmPackage, modelJson: 'models/model.json', format: 'tfjs-graph', inputSize: [tile, tile] }],
    async load(paths) {
      session = await loadSession(paths.get(onnxFile)!)
    },
    async process(image, _options, context) {
      const loaded = session!
      // The converted graph takes exactly tile x tile: smaller images are mirrored out to it, and the padding is cut off again.
      const padded = await padTo(image, Math.max(image.width, tile), Math.max(image.height, tile))
      // An image of exactly one tile is one run; larger ones are cut into cores with context around them.
      const single = padded.width === tile && padded.height === tile
      const result = await runTiled(
        padded,
        { scale: 1, valueRange: 1, run: (input, h, w) => runImageSession(loaded, input, h, w) },
        { tileSize: single ? tile : tile - 2 * MAXIM_MARGIN, margin: single ? 0 : MAXIM_MARGIN, signal: context.signal, onProgress: context.onProgress },
      )
      return padded === image ? result : crop(result, image.width, image.height)
    },
  }
}

async function padTo(image: Pixels, width: number, height: number): Promise<Pixels> {
  if (width === image.width && height === image.height) return image
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extend({ right: width - image.width, bottom: height - image.height, extendWith: 'mirror' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }
}

function crop(image: Pixels, width: number, height: number): Pixels {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) data.set(image.data.subarray(y * image.width * 3, (y * image.width + width) * 3), y * width * 3)
  return { width, height, channels: 3, data }
}

export const maximDenoising = maximAdapter({
  id: 'maxim-denoising',
  task: 'denoise',
  title: 'MAXIM denoising',
  description: 'Multi-axis MLP from UpscalerJS, trained on SIDD real camera noise: removes sensor noise while keeping detail.',
  npmPackage: '@upscalerjs/maxim-denoising',
})
