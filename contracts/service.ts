import { z } from 'zod'
import { MODEL_TASKS } from './tasks'

/**
 * The contract every inference service speaks (see README, "Service contract").
 * The orchestrator and the services import these schemas; nothing else defines the wire format.
 */

export const ServiceErrorCode = z.enum([
  'unauthorized',
  'bad_request',
  'bad_image',
  'too_large',
  'unsupported_model',
  'not_ready',
  'busy',
  'cancelled',
  'internal',
])
export type ServiceErrorCode = z.infer<typeof ServiceErrorCode>

export const ServiceError = z.object({ code: ServiceErrorCode, message: z.string() })
export type ServiceError = z.infer<typeof ServiceError>

/** What a step does; each task is served by the inference service of the same name (contracts/tasks.ts). */
export const ModelTask = z.enum(MODEL_TASKS)
export type ModelTask = z.infer<typeof ModelTask>

/**
 * What a model can do, for the pages, the CLI and the orchestrator to read instead of model or task
 * names. Its options (scale, mask mode, ...) are in `options`, a JSON Schema of the model's own zod schema.
 */
export const ModelCapabilities = z.object({
  /** Output size over input size (the `scale` option); [1] keeps the size. */
  scales: z.array(z.number().int().positive()).min(1),
  /** Takes a mask the user painted (white = change), sent with the job, the size of the input. */
  mask: z.boolean(),
  /** Finds the regions it changes by itself (POST /v1/detect), so the page can show and edit them first. */
  detect: z.boolean(),
})
export type ModelCapabilities = z.infer<typeof ModelCapabilities>

/** A JSON Schema (draft 2020-12) object: what z.toJSONSchema writes and z.fromJSONSchema reads. */
export const OptionsSchema = z.record(z.string(), z.unknown())
export type OptionsSchema = z.infer<typeof OptionsSchema>

export const ModelInfo = z.object({
  id: z.string(),
  task: ModelTask,
  title: z.string(),
  description: z.string(),
  capabilities: ModelCapabilities,
  /** The options a step of this model takes, as a JSON Schema of an object (every property has a default). */
  options: OptionsSchema,
  /** Where a model sits among others of its task: the UI offers fast / balanced / best. */
  quality: z.enum(['fast', 'balanced', 'best']).optional(),
  /**
   * What the model was trained on: `photo` (real damage: blur, sensor noise, JPEG) or `clean` (clean
   * downscales: renders, art, screenshots). Where a task has both, the studio asks which the picture is.
   */
  madeFor: z.enum(['photo', 'clean']).optional(),
  /** Largest input this model takes, when below the service's limit: slow models are sized to finish within a job's time. */
  maxInputPixels: z.number().int().positive().optional(),
  /** Longest side over shortest this model takes (default in lib/limits.ts): tiled models pay a whole tile per strip of a thin image. */
  maxAspectRatio: z.number().positive().optional(),
  /** Smallest side in pixels this model takes (default in lib/limits.ts). */
  minInputSide: z.number().int().positive().optional(),
  /**
   * Milliseconds per input megapixel by scale ("1": same size), measured on 2 CPU cores through the
   * service's own path (bench/model-cost.ts): the studio's typical times and its first time-left estimate.
   */
  msPerMegapixel: z.record(z.string(), z.number().nonnegative()).optional(),
})
export type ModelInfo = z.infer<typeof ModelInfo>

export const ImageLimits = z.object({
  maxInputBytes: z.number().int().positive(),
  maxInputPixels: z.number().int().positive(),
  maxOutputPixels: z.number().int().positive(),
})
export type ImageLimits = z.infer<typeof ImageLimits>

export const ServiceInfo = z.object({
  service: z.string(),
  version: z.string(),
  models: z.array(ModelInfo),
  limits: ImageLimits,
})
export type ServiceInfo = z.infer<typeof ServiceInfo>

/** How a remove-text run combines the detector's mask with one the user painted. */
export const MaskMode = z.enum(['detected', 'user', 'both'])
export type MaskMode = z.infer<typeof MaskMode>

/** A step's options as sent: a flat object, checked against the model's own schema where it runs. */
export const StepOptions = z
  .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]))
  .refine((o) => Object.keys(o).length <= 32, 'At most 32 options.')
export type StepOptions = z.infer<typeof StepOptions>

/**
 * Query parameters of POST /v1/run: the model and its options (JSON). The body is the image itself,
 * or a multipart form with `image` and `mask` (a PNG, white = change) for models that take a mask.
 */
export const RunQuery = z.strictObject({
  model: z.string().min(1).max(64),
  options: z
    .string()
    .max(4096)
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown
      } catch {
        ctx.addIssue({ code: 'custom', message: 'options must be JSON' })
        return z.NEVER
      }
    })
    .pipe(StepOptions),
})
export type RunQuery = z.infer<typeof RunQuery>

/** The output's magnification a step's options ask for: the `scale` option, 1 when a model has none. */
export const outputScale = (options: StepOptions | undefined) => (typeof options?.scale === 'number' ? options.scale : 1)

/**
 * The size a step makes of an image: a target `width` or `height` (the aspect ratio kept; with both,
 * the largest size that fits inside them) wins over `scale`; a model with none of them keeps the size.
 */
export function outputSize(image: { width: number; height: number }, options: StepOptions | undefined): { width: number; height: number } {
  const width = typeof options?.width === 'number' ? options.width : undefined
  const height = typeof options?.height === 'number' ? options.height : undefined
  if (width === undefined && height === undefined) {
    const scale = outputScale(options)
    return { width: image.width * scale, height: image.height * scale }
  }
  const factor = Math.min(width === undefined ? Infinity : width / image.width, height === undefined ? Infinity : height / image.height)
  return { width: Math.max(1, Math.round(image.width * factor)), height: Math.max(1, Math.round(image.height * factor)) }
}

/** A step's size change in a file name: "x4", "w3840", "h2160", "w3840h2160", or "" when it keeps the size. */
export function sizeSuffix(options: StepOptions | undefined): string {
  const { width, height } = options ?? {}
  if (typeof width === 'number' || typeof height === 'number')
    return `${typeof width === 'number' ? `w${width}` : ''}${typeof height === 'number' ? `h${height}` : ''}`
  const scale = outputScale(options)
  return scale === 1 ? '' : `x${scale}`
}

/** A step's size change as people read it: "×4", "to 3840 px wide", "" when it keeps the size. */
export function sizeLabel(options: StepOptions | undefined): string {
  const { width, height } = options ?? {}
  if (typeof width === 'number' && typeof height === 'number') return `to fit ${width}x${height}`
  if (typeof width === 'number') return `to ${width} px wide`
  if (typeof height === 'number') return `to ${height} px high`
  const scale = outputScale(options)
  return scale === 1 ? '' : `×${scale}`
}

/** Answer of POST /v1/detect: text regions and the mask the service would remove. */
export const Detection = z.object({
  width: z.number(),
  height: z.number(),
  boxes: z.array(z.object({ points: z.array(z.tuple([z.number(), z.number()])).length(4), score: z.number(), text: z.string().nullable() })),
  /** PNG data URL the size of the image: white where text was found (dilated), black elsewhere. */
  mask: z.string(),
})
export type Detection = z.infer<typeof Detection>

/**
 * What a step did besides its image, in words and counts (text removal: how many regions it
 * removed and how many it kept as they were because no fill beat the original there).
 */
export const StepReport = z.object({ summary: z.string().max(500), counts: z.record(z.string().max(40), z.number().int().nonnegative()) })
export type StepReport = z.infer<typeof StepReport>

export const RunEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('accepted'), width: z.number(), height: z.number() }),
  z.object({ type: z.literal('progress'), done: z.number().int(), total: z.number().int() }),
  /** The output so far, small (a JPEG, base64): finished tiles over the input, at most every PREVIEW_EVERY_MS. */
  z.object({ type: z.literal('preview'), done: z.number().int(), total: z.number().int(), jpeg: z.string().max(1_000_000) }),
  /** The result's bytes follow this line on the wire, exactly `bytes` of them. */
  z.object({
    type: z.literal('result'),
    contentType: z.string(),
    bytes: z.number().int().nonnegative(),
    width: z.number(),
    height: z.number(),
    report: StepReport.optional(),
  }),
  z.object({ type: z.literal('error'), code: ServiceErrorCode, message: z.string() }),
])
export type RunEvent = z.infer<typeof RunEvent>

/** Media type of the /v1/run answer: JSON lines of RunEvent, the `result` line followed by raw bytes. */
export const RUN_STREAM_TYPE = 'application/vnd.restora.run-stream'
