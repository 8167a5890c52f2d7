import type { ImageLimits } from '../contracts/service'

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
