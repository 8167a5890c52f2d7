import { z } from 'zod'
import { outputSize } from '../../contracts/service'
import { InferenceError } from './errors'
import { type Pixels, resizePixels } from './image'

/**
 * Any output size from networks that each magnify by a fixed factor: the person asks for a scale or
 * a target width or height; the smallest network that reaches it runs, then a Lanczos resize makes
 * the exact size (x2 from an x4 network is x4 then a high-quality downscale, as Upscayl's `-s` does).
 */

/** The options every upscaler takes: `scale` among `scales`, or a target `width` or `height` in pixels. */
export function upscaleOptions(scales: [number, ...number[]], preferred: number) {
  const pixels = (side: string) =>
    z
      .number()
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe(`Output ${side} in pixels instead of the scale; the aspect ratio is kept (with both, the result fits inside them)`)
  return z.strictObject({ scale: z.literal(scales).default(preferred).describe('Magnification'), width: pixels('width'), height: pixels('height') })
}

/** Which network reaches the asked size (`networkScales` ascending), and the size to resize its output to. */
export function planUpscale(image: { width: number; height: number }, options: { scale?: number; width?: number; height?: number }, networkScales: number[]) {
  const target = outputSize(image, options)
  const factor = Math.max(target.width / image.width, target.height / image.height)
  const largest = networkScales[networkScales.length - 1]!
  if (factor <= 1)
    throw new InferenceError('bad_request', `A ${target.width}x${target.height} result is not larger than the ${image.width}x${image.height} photo.`)
  if (factor > largest + 1e-9)
    throw new InferenceError(
      'bad_request',
      `${target.width}x${target.height} is x${factor.toFixed(2)} of this ${image.width}x${image.height} photo; this model reaches x${largest}. Upscale twice for more.`,
    )
  return { networkScale: networkScales.find((s) => s >= factor - 1e-9)!, target }
}

/** Runs the network `plan` chose, then resizes to the exact target when the network's size differs. */
export async function upscaleTo(plan: ReturnType<typeof planUpscale>, run: (scale: number) => Promise<Pixels>): Promise<Pixels> {
  const upscaled = await run(plan.networkScale)
  const { width, height } = plan.target
  return upscaled.width === width && upscaled.height === height ? upscaled : resizePixels(upscaled, width, height, 'lanczos3')
}
