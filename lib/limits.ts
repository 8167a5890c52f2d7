import { type ImageLimits, type ModelInfo, outputSize, type StepOptions } from '../contracts/service'

const int = (value: string | undefined, fallback: number) => (value && Number.isInteger(Number(value)) ? Number(value) : fallback)

/** Image limits, shared by the orchestrator (checks uploads) and the services (check again before decoding). */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): ImageLimits {
  return {
    maxInputBytes: int(env.MAX_INPUT_BYTES, 25 * 1024 * 1024),
    maxInputPixels: int(env.MAX_INPUT_PIXELS, 16_000_000),
    maxOutputPixels: int(env.MAX_OUTPUT_PIXELS, 64_000_000),
  }
}

export { int as intFromEnv }

/**
 * Shape limits every model gets unless its ModelInfo sets its own (maxAspectRatio, minInputSide).
 *
 * 20:1 takes any real panorama (a 360 degree one is 2:1 to 6:1, a stitched strip 10:1) yet bounds the
 * cost: the models run in fixed tiles (ESRGAN 128 px cores, MAXIM 256 px windows), so a thin image pays
 * a whole tile per 128 px of length. At 20:1 the worst image under 16 MP (894x17888) is 7x140 = 980
 * ESRGAN tiles, no more than a 4000x4000 square (32x32 = 1024); a 1x16,000,000 strip would be 125,000.
 * 8 px a side: below that there is no photo to restore, only icons and lines, and the models'
 * 3x3 convolutions, MAXIM's three 2x downsamplings and its mirrored padding up to 256 px have
 * nothing to work on.
 */
export const DEFAULT_MAX_ASPECT_RATIO = 20
export const DEFAULT_MIN_INPUT_SIDE = 8

/**
 * Why a model refuses an image of this size (its pixel limit, aspect ratio and smallest side), or
 * null; the service (before decoding) and the orchestrator (at job creation, at the size the image
 * has when that step runs) both ask.
 */
export function modelSizeProblem(
  model: Pick<ModelInfo, 'title' | 'maxInputPixels' | 'maxAspectRatio' | 'minInputSide'> & { capabilities?: Pick<ModelInfo['capabilities'], 'scales'> },
  width: number,
  height: number,
  options?: StepOptions,
  /** Whether an earlier step made the image larger (then running this step first is a way out). */
  grown = false,
): string | null {
  const mp = (pixels: number) => `${(pixels / 1e6).toFixed(1)} MP`
  if (model.maxInputPixels && width * height > model.maxInputPixels)
    return grown
      ? `${model.title} takes photos up to ${mp(model.maxInputPixels)}, so that a job finishes in time; this one would reach it at ${width}x${height} (${mp(width * height)}). Make it smaller first, or run this step before upscaling.`
      : `${model.title} takes photos up to ${mp(model.maxInputPixels)}, so that a job finishes in time; this one is ${width}x${height} (${mp(width * height)}). Resize it to ${mp(model.maxInputPixels)} or less first.`
  const maxAspect = model.maxAspectRatio ?? DEFAULT_MAX_ASPECT_RATIO
  const [long, short] = width >= height ? [width, height] : [height, width]
  if (long > short * maxAspect)
    return `${model.title} takes photos up to ${maxAspect} times as long as they are wide; this one is ${width}x${height} (${Math.round(long / Math.max(short, 1))}:1), so crop it first.`
  const minSide = model.minInputSide ?? DEFAULT_MIN_INPUT_SIDE
  if (short < minSide) return `${model.title} takes photos at least ${minSide} px on each side; this one is ${width}x${height}.`
  // A target width or height must be a magnification the model reaches.
  if (model.capabilities && (typeof options?.width === 'number' || typeof options?.height === 'number')) {
    const target = outputSize({ width, height }, options)
    const factor = Math.max(target.width / width, target.height / height)
    const largest = Math.max(...model.capabilities.scales)
    if (factor <= 1) return `${model.title} makes photos larger: ${target.width}x${target.height} is not larger than this ${width}x${height} photo.`
    if (factor > largest + 1e-9)
      return `${model.title} reaches x${largest}: ${target.width}x${target.height} is x${factor.toFixed(2)} of this ${width}x${height} photo. Upscale twice for more.`
  }
  return null
}

/**
 * The first model size problem along a pipeline, each step checked at the size the image has when
 * it runs: the orchestrator asks at job creation, the studio before uploading. Steps whose model
 * is not in `models` (a service not answering) are skipped; their service checks for itself.
 */
export function pipelineSizeProblem(
  steps: readonly { model: string; options?: StepOptions }[],
  models: (id: string) => Parameters<typeof modelSizeProblem>[0] | undefined,
  width: number,
  height: number,
): string | null {
  const start = width * height
  for (const step of steps) {
    const model = models(step.model)
    const problem = model && modelSizeProblem(model, width, height, step.options, width * height > start)
    if (problem) return problem
    ;({ width, height } = outputSize({ width, height }, step.options))
  }
  return null
}
