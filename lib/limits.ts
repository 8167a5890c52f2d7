import type { ImageLimits, ModelInfo } from '../contracts/service'

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

/** Why a model refuses an image of this size (its own ModelInfo.maxInputPixels), or null; the service and the orchestrator both ask. */
export function modelPixelProblem(model: Pick<ModelInfo, 'title' | 'maxInputPixels'>, width: number, height: number): string | null {
  if (!model.maxInputPixels || width * height <= model.maxInputPixels) return null
  const mp = (pixels: number) => `${(pixels / 1e6).toFixed(1)} MP`
  return `${model.title} takes photos up to ${mp(model.maxInputPixels)}, so that a job finishes in time; this one would reach it at ${width}x${height} (${mp(width * height)}). Make it smaller first, or run this step before upscaling.`
}
