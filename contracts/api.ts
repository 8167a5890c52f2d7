import { z } from 'zod'
import { Detection, ImageLimits, MaskMode, ModelInfo, ModelTask, ServiceErrorCode, sizeLabel, StepOptions, StepReport } from './service'
import { TASKS } from './tasks'

/** Schemas of the public tRPC API, shared by the router and the pages (types flow from here). */

export const Credentials = z.object({
  email: z.email('Enter a valid email address.').max(254),
  password: z.string().min(8, 'Passwords have at least 8 characters.').max(256),
})
export type Credentials = z.infer<typeof Credentials>

export const ConfirmationCode = z
  .string()
  .trim()
  .regex(/^\d{4,8}$/, 'Enter the code from the email (digits only).')
export const ConfirmSignUpInput = z.object({ email: Credentials.shape.email, code: ConfirmationCode })
export const ForgotPasswordInput = z.object({ email: Credentials.shape.email })
export const ResetPasswordInput = z.object({ email: Credentials.shape.email, code: ConfirmationCode, password: Credentials.shape.password })

export const SessionUser = z.object({ sub: z.string(), username: z.string(), email: z.string().nullable() })
export type SessionUser = z.infer<typeof SessionUser>

/**
 * One step of a job: which model runs and with which options (the model's schema, in its ModelInfo,
 * says which it takes; the orchestrator checks them before accepting the job). A top-level `scale`,
 * as clients before options sent it, is read as `options.scale`.
 */
export const StepSpec = z
  .object({
    task: ModelTask,
    model: z.string().min(1).max(64),
    options: StepOptions.default({}),
    /** @deprecated read as options.scale */
    scale: z.coerce.number().int().min(1).max(8).optional(),
  })
  .transform(({ scale, ...step }) => (scale === undefined ? step : { ...step, options: { scale, ...step.options } }))
export type StepSpec = z.infer<typeof StepSpec>
/** A step as clients may send it (options may be partial; `scale` may still sit at the top level). */
export type StepInput = z.input<typeof StepSpec>

/** A step as people read it: "Upscale ×4", "Denoise". */
export const stepTitle = (step: Pick<StepSpec, 'task' | 'options'>) => {
  const size = sizeLabel(step.options)
  return size ? `${TASKS[step.task].title} ${size}` : TASKS[step.task].title
}

/** A job runs its steps in order, each on the previous one's output (e.g. denoise -> upscale x2). */
export const MAX_PIPELINE_STEPS = 5
export const Pipeline = z.array(StepSpec).min(1, 'Choose at least one step.').max(MAX_PIPELINE_STEPS, `A pipeline has at most ${MAX_PIPELINE_STEPS} steps.`)

export const ACCEPTED_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif'] as const

const jsonField = <T extends z.ZodType>(schema: T, name: string) =>
  z
    .string()
    .max(10_000)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be JSON` })
        return z.NEVER
      }
    })
    .pipe(schema)

export { MaskMode } from './service'

/** Fields of the multipart form `jobs.create` takes (FormData keeps the upload binary). */
export const CreateJobForm = z.object({
  image: z.file('Attach an image file.'),
  steps: jsonField(Pipeline, 'steps'),
  /** For steps whose model takes a mask: a PNG the size of the image, white where it should change. */
  mask: z.file().optional(),
  /** Older clients' way to set the `maskMode` option of the steps that have one; a step's own option wins. */
  maskMode: MaskMode.optional(),
})
export type CreateJobFields = { image: File; steps: StepInput[]; mask?: File; maskMode?: MaskMode }

/** Builds the FormData for `jobs.create` from typed fields, so a wrong field fails type-checking. */
export function createJobFormData(fields: CreateJobFields): FormData {
  const form = new FormData()
  form.set('image', fields.image)
  form.set('steps', JSON.stringify(fields.steps))
  if (fields.mask) form.set('mask', fields.mask)
  if (fields.maskMode) form.set('maskMode', fields.maskMode)
  return form
}

export const MAX_BATCH_IMAGES = 50

/** `jobs.createBatch`: many images (repeated `images` fields), one pipeline. */
export const CreateBatchForm = z.object({
  images: z.array(z.file()).min(1, 'Attach at least one image.').max(MAX_BATCH_IMAGES, `A batch has at most ${MAX_BATCH_IMAGES} images.`),
  steps: jsonField(Pipeline, 'steps'),
})
export type CreateBatchFields = { images: File[]; steps: StepInput[] }

export function createBatchFormData(fields: CreateBatchFields): FormData {
  const form = new FormData()
  for (const image of fields.images) form.append('images', image)
  form.set('steps', JSON.stringify(fields.steps))
  return form
}

/** `text.detect`: find overlaid text before running, so the page can show and edit the mask. */
export const DetectTextForm = z.object({ image: z.file('Attach an image file.'), model: z.string().max(64).optional() })
export const DetectedText = Detection
export type DetectedText = Detection

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
export type JobStatus = z.infer<typeof JobStatus>

export const ImageFacts = z.object({ width: z.number(), height: z.number(), bytes: z.number(), contentType: z.string() })

export const Progress = z.object({
  done: z.number(),
  total: z.number(),
  /** Tiles done when the step's stored preview (GET /api/jobs/:id/preview) was taken; absent before the first. */
  previewAt: z.number().optional(),
})

export const StepState = z.object({
  spec: StepSpec,
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']),
  progress: Progress.nullable(),
  output: ImageFacts.nullable(),
  /** What the step reported besides its image (records written before reports existed have none). */
  report: StepReport.nullish(),
})
export type StepState = z.infer<typeof StepState>

export const JobErrorCode = z.union([ServiceErrorCode, z.literal('service_unavailable')])

export const JobView = z.object({
  id: z.string(),
  status: JobStatus,
  steps: z.array(StepState),
  /** Index of the step running now (or that ran last). */
  currentStep: z.number().int(),
  inputName: z.string(),
  input: ImageFacts,
  /** Whether the user sent a mask (used by the steps whose model takes one). */
  userMask: z.boolean(),
  /** Jobs created together by jobs.createBatch share this id. */
  batchId: z.string().nullable(),
  /** The last step's output, once the whole pipeline succeeded. */
  output: ImageFacts.nullable(),
  error: z.object({ code: JobErrorCode, message: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  attempts: z.number(),
})
export type JobView = z.infer<typeof JobView>

export const JobId = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{10,40}$/, 'Unknown job id.') })

export const JobListInput = z.object({
  limit: z.number().int().min(1).max(100).default(20),
  /** From the previous page's nextCursor. */
  cursor: z.string().max(100).nullish(),
  /** Only jobs whose file name contains this (any case). */
  search: z.string().trim().max(100).nullish(),
  /** Only jobs of this status. */
  status: JobStatus.nullish(),
  /** Newest first (the default) or oldest first; a cursor belongs to the order it was made in. */
  order: z.enum(['newest', 'oldest']).default('newest'),
})

export const JobListPage = z.object({ items: z.array(JobView), nextCursor: z.string().nullable() })

export const ModelsList = z.object({
  models: z.array(ModelInfo.extend({ available: z.boolean() })),
  limits: ImageLimits,
})
export type ModelsList = z.infer<typeof ModelsList>
