import { z } from 'zod'
import { ImageLimits, ModelInfo, ModelTask, ServiceErrorCode } from './service'

/** Schemas of the public tRPC API, shared by the router and the pages (types flow from here). */

export const Credentials = z.object({
  email: z.email('Enter a valid email address.').max(254),
  password: z.string().min(8, 'Passwords have at least 8 characters.').max(256),
})
export type Credentials = z.infer<typeof Credentials>

export const SessionUser = z.object({ sub: z.string(), username: z.string(), email: z.string().nullable() })
export type SessionUser = z.infer<typeof SessionUser>

/** One step of a job: which model runs and with which options. */
export const StepSpec = z.object({
  task: ModelTask,
  model: z.string().min(1).max(64),
  scale: z.coerce.number().int().min(1).max(8).default(1),
})
export type StepSpec = z.infer<typeof StepSpec>

export const ACCEPTED_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif'] as const

/** Fields of the multipart form `jobs.create` takes (FormData keeps the upload binary). */
export const CreateJobForm = z.object({
  image: z.file('Attach an image file.'),
  step: z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown
    } catch {
      ctx.addIssue({ code: 'custom', message: 'step must be JSON' })
      return z.NEVER
    }
  }).pipe(StepSpec),
})
export type CreateJobFields = { image: File; step: z.input<typeof StepSpec> }

/** Builds the FormData for `jobs.create` from typed fields, so a wrong field fails type-checking. */
export function createJobFormData(fields: CreateJobFields): FormData {
  const form = new FormData()
  form.set('image', fields.image)
  form.set('step', JSON.stringify(fields.step))
  return form
}

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
export type JobStatus = z.infer<typeof JobStatus>

export const ImageFacts = z.object({ width: z.number(), height: z.number(), bytes: z.number(), contentType: z.string() })

export const JobView = z.object({
  id: z.string(),
  status: JobStatus,
  step: StepSpec,
  inputName: z.string(),
  input: ImageFacts,
  output: ImageFacts.nullable(),
  progress: z.object({ done: z.number(), total: z.number() }).nullable(),
  error: z.object({ code: z.union([ServiceErrorCode, z.literal('service_unavailable')]), message: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  attempts: z.number(),
})
export type JobView = z.infer<typeof JobView>

export const JobId = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{10,40}$/, 'Unknown job id.') })

export const ModelsList = z.object({
  models: z.array(ModelInfo.extend({ available: z.boolean() })),
  limits: ImageLimits,
})
export type ModelsList = z.infer<typeof ModelsList>
