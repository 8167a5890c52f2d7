import type { InferenceSession } from 'onnxruntime-node'
import sharp from 'sharp'
import { z } from 'zod'
import type { ModelTask } from '../../contracts/service'
import { cropPixels, type Pixels } from '../runtime/image'
import { intFromEnv } from '../../lib/limits'
import { restoreLowFrequencies } from '../runtime/filters'
import { loadSession, runImageSession } from '../runtime/sessions'
import { runTiled } from '../runtime/tiling'
import { defineModel } from './adapter'

export interface MaximVariant {
  id: string
  task: ModelTask
  title: string
  description: string
  npmPackage: string
  /**
   * Denoising only: the model's low frequencies above this scale (Gaussian sigma, in pixels) are
   * replaced by the input's (filters.ts, restoreLowFrequencies). Not for models whose purpose is to
   * change them (dehazing, low light).
   */
  keepLowFrequenciesAbove?: number
}

/**
 * MAXIM (UpscalerJS's maxim-* packages) is a TF.js graph model converted to ONNX for one fixed
 * tile size. Its sides must be multiples of 64 (the package's divisibilityFactor); 256 keeps a
 * tile's working set moderate while giving the model's global (grid) mixing enough context.
 * It reads and writes RGB in 0..1.
 */
export const MAXIM_TILE = 256
/**
 * Context around each core, cross-faded into the neighbours. MAXIM mixes over its whole tile, so a
 * tiled result differs from an untiled one everywhere by about the same small amount (~43 dB on
 * astronaut.png), not at the seams; 16 px gave the same PSNR gain as 32 px with 1.36x fewer tiles.
 */
const MAXIM_MARGIN = Number(process.env.MAXIM_TILE_MARGIN) || 16

/**
 * MAXIM needs ~115 us of 2-core CPU per output pixel (5.7 s per 224 px tile core in
 * bench/results/maxim-speed.md): 4 MP take about 8 minutes, inside a job's 15. Bigger photos are
 * refused up front with that reason; MAXIM_MAX_INPUT_PIXELS raises it for machines with more cores.
 */
export const maximMaxInputPixels = () => intFromEnv(process.env.MAXIM_MAX_INPUT_PIXELS, 4_000_000)

export function maximAdapter(variant: MaximVariant, tile = MAXIM_TILE) {
  const file = `${variant.id}-${tile}.onnx`
  let session: InferenceSession | null = null
  return defineModel({
    info: {
      id: variant.id,
      task: variant.task,
      title: variant.title,
      description: variant.description,
      capabilities: { scales: [1], mask: false, detect: false },
      maxInputPixels: maximMaxInputPixels(),
    },
    options: z.strictObject({}),
    sources: [{ kind: 'convert', file, npmPackage: variant.npmPackage, path: 'models/model.json', format: 'tfjs-graph', inputSize: [tile, tile] }],
    async load(files) {
      session = await loadSession(files.get(file)!, { arena: false })
    },
    async process(image, _options, context) {
      const loaded = session!
      // The converted graph takes exactly tile x tile: smaller images are mirrored out to it, and the padding is cut off again.
      const padded = await padTo(image, Math.max(image.width, tile), Math.max(image.height, tile))
      // An image of exactly one tile is one run; larger ones are cut into cores with context around them.
      const single = padded.width === tile && padded.height === tile
      const result = await runTiled(
        padded,
        {
          scale: 1,
          valueRange: 1,
          run: async (input, h, w) => {
            const output = await runImageSession(loaded, input, h, w)
            if (variant.keepLowFrequenciesAbove) restoreLowFrequencies(input, output, h, w, variant.keepLowFrequenciesAbove)
            return output
          },
        },
        {
          tileSize: single ? tile : tile - 2 * MAXIM_MARGIN,
          margin: single ? 0 : MAXIM_MARGIN,
          feather: 2 * MAXIM_MARGIN,
          signal: context.signal,
          onProgress: context.onProgress,
          // A padded photo's output holds the padding too: no previews of it (it is one or two tiles anyway).
          onPartial: padded === image ? context.onPartial : undefined,
        },
      )
      return padded === image ? result : cropPixels(result, 0, 0, image.width, image.height)
    },
  })
}

async function padTo(image: Pixels, width: number, height: number): Promise<Pixels> {
  if (width === image.width && height === image.height) return image
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extend({ right: width - image.width, bottom: height - image.height, extendWith: 'mirror' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }
}

export const DENOISING: MaximVariant = {
  id: 'maxim-denoising',
  task: 'denoise',
  title: 'MAXIM denoising',
  description: 'Multi-axis MLP from UpscalerJS, trained on SIDD camera noise: removes noise and grain while keeping detail and colours.',
  npmPackage: '@upscalerjs/maxim-denoising',
  // Chosen on crops and photos outside the tests' (camera.png, other crops): +0.6 to +2 dB over the raw model, best of 1.5-8 px.
  keepLowFrequenciesAbove: 2,
}
export const maximDenoising = maximAdapter(DENOISING)

/**
 * The other MAXIM restorations UpscalerJS ships, each trained on its own data set; the enhance
 * service offers them. Not @upscalerjs/maxim-deraining: it converts exactly (0.0001/255 from
 * TF.js), but left synthetic rain streaks in place in our tests (-1.0 to +0.4 dB), so there is
 * no evidence yet that it removes rain.
 */
export const maximEnhancers = [
  { id: 'maxim-deblurring', title: 'Deblur', description: 'MAXIM trained on GoPro: sharpens motion and camera-shake blur.' },
  {
    id: 'maxim-dehazing-outdoor',
    title: 'Dehaze (outdoor)',
    description: 'MAXIM trained on RESIDE outdoor scenes: removes haze and fog from landscapes and streets.',
  },
  { id: 'maxim-dehazing-indoor', title: 'Dehaze (indoor)', description: 'MAXIM trained on RESIDE indoor scenes: removes haze from rooms.' },
  { id: 'maxim-enhancement', title: 'Brighten low light', description: 'MAXIM trained on LOL: brightens dark photos and recovers their colours.' },
  { id: 'maxim-retouching', title: 'Retouch', description: 'MAXIM trained on MIT-Adobe FiveK: an expert-style colour and tone retouch.' },
].map((variant) => maximAdapter({ ...variant, task: 'enhance', npmPackage: `@upscalerjs/${variant.id}` }))

/** The npm packages of every MAXIM graph model the services offer (for conversion and reference tools). */
export const graphModelPackages = () =>
  [maximDenoising, ...maximEnhancers].flatMap((a) => a.sources.flatMap((s) => (s.kind === 'convert' ? [s.npmPackage] : [])))
