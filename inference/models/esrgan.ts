import type { InferenceSession } from 'onnxruntime-node'
import { z } from 'zod'
import { loadSession, runImageSession } from '../runtime/sessions'
import { runTiled } from '../runtime/tiling'
import { defineModel } from './adapter'

export interface EsrganVariant {
  id: string
  quality: 'fast' | 'balanced' | 'best'
  title: string
  description: string
  npmPackage: string
  scales: number[]
  /** The UpscalerJS RDN models take and return 0..255; the RRDN ("thick") ones 0..1. */
  valueRange: number
}

/** Tile geometry: 128 px cores keep ORT's working set in cache; 16 px of context hides seams. */
export const ESRGAN_TILE = { size: Number(process.env.TILE_SIZE) || 128, margin: Number(process.env.TILE_MARGIN) || 16 }

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
        capabilities: { scales, mask: false, detect: false },
      },
      // One network per scale: the UpscalerJS packages ship a model per magnification.
      options: z.strictObject({
        scale: z
          .literal(scales)
          .default(scales.includes(2) ? 2 : scales[0])
          .describe('Magnification'),
      }),
      sources: scales.map((scale) => ({
        kind: 'convert' as const,
        file: file(scale),
        npmPackage: variant.npmPackage,
        path: `models/x${scale}/model.json`,
        format: 'tfjs-layers' as const,
      })),
      async load(files) {
        for (const scale of scales) sessions.set(scale, await loadSession(files.get(file(scale))!))
      },
      async process(image, { scale }, context) {
        const session = sessions.get(scale)!
        return runTiled(
          image,
          { scale, valueRange: variant.valueRange, run: (input, h, w) => runImageSession(session, input, h, w) },
          { tileSize: ESRGAN_TILE.size, margin: ESRGAN_TILE.margin, signal: context.signal, onProgress: context.onProgress },
        )
      },
    }),
    { variant },
  )
}

/** The three UpscalerJS ESRGAN sizes are the product's quality levels: fast, balanced, best. */
export const esrganSlim = esrganAdapter({
  id: 'esrgan-slim',
  quality: 'fast',
  title: 'ESRGAN fast',
  description: 'Small residual dense network (UpscalerJS slim): quick previews and large batches.',
  npmPackage: '@upscalerjs/esrgan-slim',
  scales: [2, 3, 4, 8],
  valueRange: 255,
})

export const esrganMedium = esrganAdapter({
  id: 'esrgan-medium',
  quality: 'balanced',
  title: 'ESRGAN balanced',
  description: 'Residual dense network from UpscalerJS, trained on DIV2K: sharp detail at moderate cost.',
  npmPackage: '@upscalerjs/esrgan-medium',
  scales: [2, 3, 4, 8],
  valueRange: 255,
})

export const esrganThick = esrganAdapter({
  id: 'esrgan-thick',
  quality: 'best',
  title: 'ESRGAN best',
  description: 'Residual-in-residual dense network (UpscalerJS thick): the most detail, about 10x the work.',
  npmPackage: '@upscalerjs/esrgan-thick',
  scales: [2, 3, 4],
  valueRange: 1,
})

export const esrganAdapters = [esrganSlim, esrganMedium, esrganThick]
