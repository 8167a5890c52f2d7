import { z } from 'zod'

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

/** What a step does; each task is served by the inference service of the same name. */
export const ModelTask = z.enum(['upscale', 'denoise', 'enhance', 'remove-text'])
export type ModelTask = z.infer<typeof ModelTask>

/** How the pages and the CLI name each task. */
export const TASK_TITLES: Record<ModelTask, string> = { upscale: 'Upscale', denoise: 'Denoise', enhance: 'Enhance', 'remove-text': 'Remove text' }

export const ModelInfo = z.object({
  id: z.string(),
  task: ModelTask,
  title: z.string(),
  description: z.string(),
  scales: z.array(z.number().int().positive()),
  /** Where a model sits among others of its task: the UI offers fast / balanced / best. */
  quality: z.enum(['fast', 'balanced', 'best']).optional(),
  /** Largest input this model takes, when below the service's limit: slow models are sized to finish within a job's time. */
  maxInputPixels: z.number().int().positive().optional(),
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

/**
 * Options of POST /v1/run, sent as query parameters. The body is the image itself, or a
 * multipart form with `image` and `mask` (a PNG, white = remove) for remove-text runs.
 */
export const RunOptions = z.object({
  model: z.string().min(1).max(64),
  scale: z.coerce.number().int().min(1).max(8).default(1),
  maskMode: MaskMode.default('both'),
})
export type RunOptions = z.infer<typeof RunOptions>

/** Answer of POST /v1/detect: text regions and the mask the service would remove. */
export const Detection = z.object({
  width: z.number(),
  height: z.number(),
  boxes: z.array(z.object({ points: z.array(z.tuple([z.number(), z.number()])).length(4), score: z.number(), text: z.string().nullable() })),
  /** PNG data URL the size of the image: white where text was found (dilated), black elsewhere. */
  mask: z.string(),
})
export type Detection = z.infer<typeof Detection>

export const RunEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('accepted'), width: z.number(), height: z.number() }),
  z.object({ type: z.literal('progress'), done: z.number().int(), total: z.number().int() }),
  /** The result's bytes follow this line on the wire, exactly `bytes` of them. */
  z.object({ type: z.literal('result'), contentType: z.string(), bytes: z.number().int().nonnegative(), width: z.number(), height: z.number() }),
  z.object({ type: z.literal('error'), code: ServiceErrorCode, message: z.string() }),
])
export type RunEvent = z.infer<typeof RunEvent>

/** Media type of the /v1/run answer: JSON lines of RunEvent, the `result` line followed by raw bytes. */
export const RUN_STREAM_TYPE = 'application/vnd.restora.run-stream'
