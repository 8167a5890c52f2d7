import { randomUUID } from 'node:crypto'
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { CreateBatchForm, CreateJobForm, DetectedText, DetectTextForm, JobId, JobListInput, JobListPage, JobView, type MaskMode, type StepSpec } from '../../../contracts/api'
import type { ModelInfo } from '../../../contracts/service'
import { InferenceError } from '../../../inference/runtime/errors'
import { validateImage } from '../../../inference/runtime/image'
import type { App } from '../../app'
import { DispatchError } from '../../jobs/dispatcher'
import { QueueFullError } from '../../jobs/queue'
import { jobKeys, toView, type JobRecord } from '../../jobs/repository'
import { modelPixelProblem } from '../../../lib/limits'
import { protectedProcedure, router } from '../init'
import { fetchCatalogue } from './models'

const MIME_BY_FORMAT: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', tiff: 'image/tiff', gif: 'image/gif', avif: 'image/avif', heif: 'image/heif' }

const formInput = <T extends z.ZodType<unknown, Record<string, unknown>>>(schema: T) =>
  z
    .instanceof(FormData, { message: 'Send the image as multipart form data.' })
    .transform((form) => {
      const fields: Record<string, unknown> = Object.fromEntries(form.entries())
      if (form.has('images')) fields.images = form.getAll('images')
      return fields
    })
    .pipe(schema)

/** Checks everything about a new job that can be known before it is stored; answers what the services say of the steps' models. */
async function admit(app: App, userSub: string, steps: StepSpec[], count: number): Promise<Map<string, ModelInfo>> {
  for (const step of steps)
    if ((app.config.services[step.task] ?? []).length === 0) throw new TRPCError({ code: 'BAD_REQUEST', message: `No ${step.task} service is running, so this pipeline cannot run.` })
  const waitSeconds = app.createRate.take(userSub)
  if (waitSeconds > 0) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `You are creating jobs too fast: retry in ${waitSeconds} s.` })
  const active = (await app.jobs.listForUser(userSub)).filter((j) => j.status === 'queued' || j.status === 'running').length
  if (active + count > app.config.maxActiveJobsPerUser)
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `You have ${active} unfinished jobs; the limit is ${app.config.maxActiveJobsPerUser}. Wait for some to finish.` })
  const tasks = new Set(steps.map((s) => s.task))
  const catalogue = await fetchCatalogue(Object.fromEntries(Object.entries(app.config.services).filter(([task]) => tasks.has(task as StepSpec['task']))), false)
  return new Map(catalogue.flatMap(({ info }) => info.models.map((m) => [m.id, m] as const)))
}

/** A model's own size limit, at the size the image will have when that step runs (a service not answering now checks it itself). */
function checkModelSizes(steps: StepSpec[], models: Map<string, ModelInfo>, width: number, height: number) {
  for (const step of steps) {
    const model = models.get(step.model)
    const problem = model && modelPixelProblem(model, width, height)
    if (problem) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: problem })
    width *= step.scale
    height *= step.scale
  }
}

/** Validates and stores one upload as a queued job, then hands it to the runner. */
async function createJob(app: App, user: { sub: string }, accessToken: string, image: File, steps: StepSpec[], models: Map<string, ModelInfo>, batchId: string | null, requestId: string, mask: { file: File; mode: MaskMode } | null = null) {
  const { limits } = app.config
  if (image.size > limits.maxInputBytes)
    throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `${image.name || 'The file'} is ${(image.size / 1048576).toFixed(1)} MB; the limit is ${(limits.maxInputBytes / 1048576).toFixed(0)} MB.` })
  const bytes = new Uint8Array(await image.arrayBuffer())
  const totalScale = steps.reduce((scale, step) => scale * step.scale, 1)
  let facts
  try {
    facts = await validateImage(bytes, limits, totalScale)
  } catch (error) {
    if (error instanceof InferenceError) {
      app.metrics.jobsRejected.inc({ reason: error.code })
      throw new TRPCError({ code: error.code === 'too_large' ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: error.message })
    }
    throw error
  }
  checkModelSizes(steps, models, facts.width, facts.height)
  const now = new Date().toISOString()
  const job: JobRecord = {
    id: randomUUID(),
    ownerSub: user.sub,
    status: 'queued',
    steps: steps.map((spec) => ({ spec, status: 'pending', progress: null, output: null })),
    currentStep: 0,
    batchId,
    userMask: mask !== null,
    maskMode: mask?.mode ?? 'detected',
    inputName: image.name.slice(0, 200) || 'image',
    input: { width: facts.width, height: facts.height, bytes: bytes.length, contentType: MIME_BY_FORMAT[facts.format] ?? 'application/octet-stream' },
    output: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    attempts: 0,
  }
  // Input first, record second: a record never points at a missing upload.
  await app.store.put(jobKeys(job).input, bytes, job.input.contentType)
  if (mask) await app.store.put(jobKeys(job).mask, new Uint8Array(await mask.file.arrayBuffer()), 'image/png')
  await app.jobs.save(job)
  try {
    await app.runner.submit(job, accessToken)
  } catch (error) {
    await app.store.deletePrefix(jobKeys(job).base)
    if (error instanceof QueueFullError) {
      app.metrics.jobsRejected.inc({ reason: 'busy' })
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: error.message })
    }
    throw error
  }
  app.metrics.jobsCreated.inc()
  app.logger.info({ job: job.id, user: user.sub, steps: steps.map((s) => s.model), requestId }, 'job created')
  return job
}

async function ownJob(app: App, sub: string, id: string) {
  const job = await app.jobs.get({ ownerSub: sub, id })
  if (!job) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such job.' })
  return job
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

export const textRouter = router({
  /** The text a remove-text step would remove, and its mask, so the page can show and edit it first. */
  detect: protectedProcedure
    .input(formInput(DetectTextForm))
    .output(DetectedText)
    .mutation(async ({ ctx, input }) => {
      const { app } = ctx
      if ((app.config.services['remove-text'] ?? []).length === 0) throw new TRPCError({ code: 'BAD_REQUEST', message: 'No remove-text service is running.' })
      const bytes = new Uint8Array(await input.image.arrayBuffer())
      try {
        await validateImage(bytes, app.config.limits, 1)
      } catch (error) {
        if (error instanceof InferenceError) throw new TRPCError({ code: error.code === 'too_large' ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: error.message })
        throw error
      }
      try {
        return await app.dispatcher.detect('remove-text', input.model, bytes, { accessToken: ctx.accessToken, requestId: ctx.requestId, signal: AbortSignal.timeout(120_000) })
      } catch (error) {
        if (error instanceof DispatchError) throw new TRPCError({ code: error.retryable ? 'SERVICE_UNAVAILABLE' : 'BAD_REQUEST', message: error.message })
        throw error
      }
    }),
})

export const jobsRouter = router({
  create: protectedProcedure
    .input(formInput(CreateJobForm))
    .output(JobView)
    .mutation(async ({ ctx, input }) => {
      const models = await admit(ctx.app, ctx.user.sub, input.steps, 1)
      if (input.mask && !input.steps.some((s) => s.task === 'remove-text')) throw new TRPCError({ code: 'BAD_REQUEST', message: 'A mask is only used by a remove-text step.' })
      if (input.mask && input.mask.size > ctx.app.config.limits.maxInputBytes) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: 'The mask file is too large.' })
      const mask = input.mask ? { file: input.mask, mode: input.maskMode } : null
      return toView(await createJob(ctx.app, ctx.user, ctx.accessToken, input.image, input.steps, models, null, ctx.requestId, mask))
    }),

  createBatch: protectedProcedure
    .input(formInput(CreateBatchForm))
    .output(z.object({ batchId: z.string(), jobs: z.array(JobView), rejected: z.array(z.object({ name: z.string(), message: z.string() })) }))
    .mutation(async ({ ctx, input }) => {
      const models = await admit(ctx.app, ctx.user.sub, input.steps, input.images.length)
      const batchId = randomUUID()
      const jobs: JobView[] = []
      const rejected: { name: string; message: string }[] = []
      // One bad file must not sink the others: each is admitted or rejected on its own.
      for (const image of input.images) {
        try {
          jobs.push(toView(await createJob(ctx.app, ctx.user, ctx.accessToken, image, input.steps, models, batchId, ctx.requestId)))
        } catch (error) {
          if (!(error instanceof TRPCError) || error.code === 'INTERNAL_SERVER_ERROR') throw error
          rejected.push({ name: image.name, message: error.message })
        }
      }
      return { batchId, jobs, rejected }
    }),

  get: protectedProcedure
    .input(JobId)
    .output(JobView)
    .query(async ({ ctx, input }) => toView(await ownJob(ctx.app, ctx.user.sub, input.id))),

  /** The user's jobs, newest first. */
  list: protectedProcedure
    .input(JobListInput)
    .output(JobListPage)
    .query(async ({ ctx, input }) => {
      const all = await ctx.app.jobs.listForUser(ctx.user.sub)
      const start = input.cursor ? all.findIndex((j) => `${j.createdAt}|${j.id}` === input.cursor) + 1 : 0
      const items = all.slice(start, start + input.limit)
      const last = items.at(-1)
      return { items: items.map(toView), nextCursor: start + input.limit < all.length && last ? `${last.createdAt}|${last.id}` : null }
    }),

  cancel: protectedProcedure
    .input(JobId)
    .output(JobView)
    .mutation(async ({ ctx, input }) => {
      await ownJob(ctx.app, ctx.user.sub, input.id)
      const job = await ctx.app.runner.cancel({ ownerSub: ctx.user.sub, id: input.id })
      return toView(job!)
    }),

  /** Deletes a finished job with its images; a running job must be cancelled first. */
  delete: protectedProcedure
    .input(JobId)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const job = await ownJob(ctx.app, ctx.user.sub, input.id)
      if (!TERMINAL.has(job.status)) throw new TRPCError({ code: 'CONFLICT', message: 'Cancel the job before deleting it.' })
      await ctx.app.store.deletePrefix(jobKeys(job).base)
      return { deleted: true as const }
    }),

  /** The job as it changes (server-sent events), ending when it finishes. */
  progress: protectedProcedure.input(JobId).subscription(async function* ({ ctx, input, signal }) {
    let last = ''
    for (;;) {
      const view = toView(await ownJob(ctx.app, ctx.user.sub, input.id))
      const fingerprint = JSON.stringify(view)
      if (fingerprint !== last) {
        last = fingerprint
        yield view
      }
      if (TERMINAL.has(view.status) || signal?.aborted) return
      // The store is the source of truth across replicas, so this reads it rather than local events.
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }),
})
