import { randomUUID } from 'node:crypto'
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import {
  CreateBatchForm,
  CreateJobForm,
  DetectedText,
  DetectTextForm,
  JobId,
  JobListInput,
  JobListPage,
  JobView,
  MAX_BATCH_IMAGES,
  type StepSpec,
} from '../../../contracts/api'
import { isFinished } from '../../../contracts/job-progress'
import { checkStepOptions, optionProperties } from '../../../contracts/model-options'
import { type ModelInfo, outputSize } from '../../../contracts/service'
import { MODEL_TASKS, TASKS } from '../../../contracts/tasks'
import { InferenceError } from '../../../inference/runtime/errors'
import { validateImage } from '../../../inference/runtime/image'
import type { App } from '../../app'
import { DispatchError } from '../../jobs/dispatcher'
import { QueueFullError } from '../../jobs/queue'
import { BadCursorError, JobLimitError, jobKeys, toView, type JobRecord } from '../../jobs/repository'
import { pipelineSizeProblem } from '../../../lib/limits'
import { protectedProcedure, router } from '../init'
import { fetchCatalogue } from './models'

const MIME_BY_FORMAT: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  tiff: 'image/tiff',
  gif: 'image/gif',
  avif: 'image/avif',
  heif: 'image/heif',
}

const formInput = <T extends z.ZodType<unknown, Record<string, unknown>>>(schema: T) =>
  z
    .instanceof(FormData, { message: 'Send the image as multipart form data.' })
    .transform((form) => {
      const fields: Record<string, unknown> = Object.fromEntries(form.entries())
      if (form.has('images')) fields.images = form.getAll('images')
      return fields
    })
    .pipe(schema)

/**
 * Checks everything about a new job that can be known before it is stored; answers the steps with
 * their options complete (the models' defaults filled in) and what the services say of their models.
 * `formOptions` are options older clients set for the whole job (`maskMode`), applied to the steps
 * whose model declares them.
 */
async function admit(
  app: App,
  requested: StepSpec[],
  formOptions: Record<string, string> = {},
): Promise<{ steps: StepSpec[]; models: Map<string, ModelInfo> }> {
  for (const step of requested)
    if ((app.config.services[step.task] ?? []).length === 0)
      throw new TRPCError({ code: 'BAD_REQUEST', message: `No ${step.task} service is running, so this pipeline cannot run.` })
  const models = await modelsFor(app, requested)
  const steps = requested.map((step, index) => {
    const checked = checkStep(step, models, formOptions)
    if (typeof checked === 'string') throw new TRPCError({ code: 'BAD_REQUEST', message: requested.length > 1 ? `Step ${index + 1}: ${checked}` : checked })
    return checked
  })
  return { steps, models }
}

/**
 * What the services of these steps offer now. A service that does not answer this moment
 * (restarting) is taken at its last answer, so a job waits for it instead of being refused.
 */
async function modelsFor(app: App, steps: StepSpec[]): Promise<Map<string, ModelInfo>> {
  const tasks = new Set(steps.map((s) => s.task))
  const catalogue = await fetchCatalogue(Object.fromEntries(Object.entries(app.config.services).filter(([task]) => tasks.has(task as StepSpec['task']))), false)
  const answered = new Map<string, ModelInfo[]>()
  for (const { info } of catalogue) for (const model of info.models) answered.set(model.task, [...(answered.get(model.task) ?? []), model])
  for (const [task, models] of answered) app.knownModels.set(task as StepSpec['task'], models)
  return new Map([...tasks].flatMap((task) => app.knownModels.get(task) ?? []).map((m) => [m.id, m]))
}

/**
 * The step with its options checked and completed, or why no service can run it (unknown model,
 * another task's model, options it does not take). A task whose service never answered is taken
 * as sent: its service checks the step itself.
 */
function checkStep(step: StepSpec, models: Map<string, ModelInfo>, formOptions: Record<string, string>): StepSpec | string {
  const known = [...models.values()].filter((m) => m.task === step.task)
  if (known.length === 0) return step
  const model = models.get(step.model)
  if (!model || model.task !== step.task) return `${TASKS[step.task].title} has no model '${step.model}'; choose one of ${known.map((m) => m.id).join(', ')}.`
  const declared = optionProperties(model)
  const fromForm = Object.fromEntries(Object.entries(formOptions).filter(([key]) => key in declared))
  const checked = checkStepOptions(model, { ...fromForm, ...step.options })
  return checked.ok ? { ...step, options: checked.options as StepSpec['options'] } : checked.problem
}

/** A model's own size limit, at the size the image will have when that step runs (a service not answering now checks it itself). */
function checkModelSizes(steps: StepSpec[], models: Map<string, ModelInfo>, width: number, height: number) {
  const problem = pipelineSizeProblem(steps, (id) => models.get(id), width, height)
  if (problem) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: problem })
}

/** Validates one upload and stores its blobs; the job record is not written yet (see `admitJobs`). */
async function prepareJob(
  app: App,
  user: { sub: string },
  image: File,
  steps: StepSpec[],
  models: Map<string, ModelInfo>,
  batchId: string | null,
  mask: File | null = null,
): Promise<JobRecord> {
  const { limits } = app.config
  if (image.size > limits.maxInputBytes)
    throw new TRPCError({
      code: 'PAYLOAD_TOO_LARGE',
      message: `${image.name || 'The file'} is ${(image.size / 1048576).toFixed(1)} MB; the limit is ${(limits.maxInputBytes / 1048576).toFixed(0)} MB.`,
    })
  const bytes = new Uint8Array(await image.arrayBuffer())
  const resultSize = (size: { width: number; height: number }) => steps.reduce((made, step) => outputSize(made, step.options), size)
  let facts
  try {
    facts = await validateImage(bytes, limits, resultSize, (header) => checkModelSizes(steps, models, header.width, header.height))
  } catch (error) {
    if (error instanceof InferenceError) {
      app.metrics.jobsRejected.inc({ reason: error.code })
      throw new TRPCError({ code: error.code === 'too_large' ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: error.message })
    }
    throw error
  }
  const now = new Date().toISOString()
  const job: JobRecord = {
    id: randomUUID(),
    ownerSub: user.sub,
    status: 'queued',
    steps: steps.map((spec) => ({ spec, status: 'pending', progress: null, output: null })),
    currentStep: 0,
    batchId,
    userMask: mask !== null,
    inputName: image.name.slice(0, 200) || 'image',
    input: { width: facts.width, height: facts.height, bytes: bytes.length, contentType: MIME_BY_FORMAT[facts.format] ?? 'application/octet-stream' },
    output: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    attempts: 0,
  }
  // Blobs first, record second: a record never points at a missing upload.
  await app.store.put(jobKeys(job).input, bytes, job.input.contentType)
  if (mask) await app.store.put(jobKeys(job).mask, new Uint8Array(await mask.arrayBuffer()), 'image/png')
  return job
}

/**
 * Writes prepared jobs in one transaction that also checks the user's limits (unfinished jobs,
 * jobs a minute, stored jobs), then queues them. All or none are written; a job the queue turns
 * away is taken back out and reported in `refused`.
 */
async function admitJobs(
  app: App,
  user: { sub: string },
  accessToken: string,
  prepared: JobRecord[],
  requestId: string,
): Promise<{ admitted: JobRecord[]; refused: { job: JobRecord; message: string }[] }> {
  const { config } = app
  try {
    await app.jobs.createAll(user.sub, prepared, {
      maxActive: config.maxActiveJobsPerUser,
      maxPerMinute: config.maxJobsPerMinutePerUser,
      maxStored: config.maxStoredJobsPerUser,
    })
  } catch (error) {
    await Promise.all(prepared.map((job) => app.store.deletePrefix(jobKeys(job).base)))
    if (error instanceof JobLimitError) {
      app.metrics.jobsRejected.inc({ reason: 'limit' }, prepared.length)
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: error.message })
    }
    throw error
  }
  const admitted: JobRecord[] = []
  const refused: { job: JobRecord; message: string }[] = []
  for (const job of prepared) {
    try {
      await app.runner.submit(job, accessToken)
      admitted.push(job)
      app.metrics.jobsCreated.inc()
      app.logger.info({ job: job.id, user: user.sub, steps: job.steps.map((s) => s.spec.model), requestId }, 'job created')
    } catch (error) {
      await app.jobs.delete(job)
      await app.store.deletePrefix(jobKeys(job).base)
      if (!(error instanceof QueueFullError)) throw error
      app.metrics.jobsRejected.inc({ reason: 'busy' })
      refused.push({ job, message: error.message })
    }
  }
  return { admitted, refused }
}

/** The task and model a detect call goes to: the named model, or the first that finds its own regions. */
async function findDetector(app: App, requested: string | undefined): Promise<{ task: ModelInfo['task']; model?: string }> {
  const tasks = MODEL_TASKS.filter((task) => (app.config.services[task] ?? []).length > 0)
  const models = await modelsFor(
    app,
    tasks.map((task) => ({ task, model: '', options: {} })),
  )
  const detector = [...models.values()].find((m) => m.capabilities.detect && (!requested || m.id === requested))
  if (!detector)
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: requested
        ? `No running service has a model '${requested}' that finds regions.`
        : 'No running service has a model that finds regions (such as remove text).',
    })
  return { task: detector.task, model: requested }
}

async function ownJob(app: App, sub: string, id: string) {
  const job = await app.jobs.get({ ownerSub: sub, id })
  if (!job) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such job.' })
  return job
}

export const textRouter = router({
  /** What a model that finds its own regions (capabilities.detect) would change, and its mask, so the page can show and edit it first. */
  detect: protectedProcedure
    .input(formInput(DetectTextForm))
    .output(DetectedText)
    .mutation(async ({ ctx, input, signal }) => {
      const { app } = ctx
      const detector = await findDetector(app, input.model)
      const waitSeconds = app.detectRate.take(ctx.user.sub)
      if (waitSeconds > 0) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `You are finding text too often: retry in ${waitSeconds} s.` })
      const bytes = new Uint8Array(await input.image.arrayBuffer())
      try {
        await validateImage(bytes, app.config.limits, 1)
      } catch (error) {
        if (error instanceof InferenceError)
          throw new TRPCError({ code: error.code === 'too_large' ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: error.message })
        throw error
      }
      try {
        const timeout = AbortSignal.timeout(120_000)
        return await app.dispatcher.detect(detector.task, detector.model, bytes, {
          accessToken: ctx.accessToken,
          requestId: ctx.requestId,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        })
      } catch (error) {
        if (error instanceof DispatchError) throw new TRPCError({ code: error.retryable ? 'SERVICE_UNAVAILABLE' : 'BAD_REQUEST', message: error.message })
        // Waited two minutes behind running jobs for a free slot of the service.
        if (error instanceof DOMException && error.name === 'TimeoutError')
          throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: `The ${detector.task} service is busy with other photos; try again in a minute.` })
        throw error
      }
    }),
})

export const jobsRouter = router({
  create: protectedProcedure
    .input(formInput(CreateJobForm))
    .output(JobView)
    .mutation(async ({ ctx, input }) => {
      const { steps, models } = await admit(ctx.app, input.steps, input.maskMode ? { maskMode: input.maskMode } : {})
      if (input.mask && !steps.some((s) => models.get(s.model)?.capabilities.mask ?? true))
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'A mask is only used by a step whose model takes one (such as remove text).' })
      if (input.mask && input.mask.size > ctx.app.config.limits.maxInputBytes)
        throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: 'The mask file is too large.' })
      const job = await prepareJob(ctx.app, ctx.user, input.image, steps, models, null, input.mask ?? null)
      const { refused } = await admitJobs(ctx.app, ctx.user, ctx.accessToken, [job], ctx.requestId)
      if (refused.length > 0) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: refused[0]!.message })
      return toView(job)
    }),

  createBatch: protectedProcedure
    .input(formInput(CreateBatchForm))
    .output(z.object({ batchId: z.string(), jobs: z.array(JobView), rejected: z.array(z.object({ name: z.string(), message: z.string() })) }))
    .mutation(async ({ ctx, input }) => {
      const { steps, models } = await admit(ctx.app, input.steps)
      const batchId = randomUUID()
      const prepared: JobRecord[] = []
      const rejected: { name: string; message: string }[] = []
      // One bad file must not sink the others: each is checked on its own, then the good ones are admitted together.
      for (const image of input.images) {
        try {
          prepared.push(await prepareJob(ctx.app, ctx.user, image, steps, models, batchId))
        } catch (error) {
          if (!(error instanceof TRPCError) || error.code === 'INTERNAL_SERVER_ERROR') {
            await Promise.all(prepared.map((job) => ctx.app.store.deletePrefix(jobKeys(job).base)))
            throw error
          }
          rejected.push({ name: image.name, message: error.message })
        }
      }
      const { admitted, refused } =
        prepared.length > 0 ? await admitJobs(ctx.app, ctx.user, ctx.accessToken, prepared, ctx.requestId) : { admitted: [], refused: [] }
      rejected.push(...refused.map(({ job, message }) => ({ name: job.inputName, message })))
      const jobs = admitted.map(toView)
      return { batchId, jobs, rejected }
    }),

  get: protectedProcedure
    .input(JobId)
    .output(JobView)
    .query(async ({ ctx, input }) => toView(await ownJob(ctx.app, ctx.user.sub, input.id))),

  /** Several of the user's jobs at once (a batch followed in the studio): those not theirs or gone are left out. */
  many: protectedProcedure
    .input(z.object({ ids: z.array(JobId.shape.id).max(MAX_BATCH_IMAGES * 2) }))
    .output(z.array(JobView))
    .query(async ({ ctx, input }) => (await ctx.app.jobs.getMany(ctx.user.sub, input.ids)).map(toView)),

  /** The user's jobs, newest first. */
  list: protectedProcedure
    .input(JobListInput)
    .output(JobListPage)
    .query(async ({ ctx, input }) => {
      try {
        const page = await ctx.app.jobs.page(ctx.user.sub, input)
        return { items: page.items.map(toView), nextCursor: page.nextCursor }
      } catch (error) {
        if (error instanceof BadCursorError) throw new TRPCError({ code: 'BAD_REQUEST', message: error.message })
        throw error
      }
    }),

  cancel: protectedProcedure
    .input(JobId)
    .output(JobView)
    .mutation(async ({ ctx, input }) => {
      await ownJob(ctx.app, ctx.user.sub, input.id)
      const job = await ctx.app.runner.cancel({ ownerSub: ctx.user.sub, id: input.id })
      return toView(job!)
    }),

  /**
   * Runs a finished job again as a new job: the same stored input, steps and painted mask (a
   * cancelled or failed job retried, or a result made again by newer models). The old job stays.
   */
  again: protectedProcedure
    .input(JobId)
    .output(JobView)
    .mutation(async ({ ctx, input }) => {
      const old = await ownJob(ctx.app, ctx.user.sub, input.id)
      if (!isFinished(old.status)) throw new TRPCError({ code: 'CONFLICT', message: 'The job is still running.' })
      const keys = jobKeys(old)
      const [image, mask] = await Promise.all([ctx.app.store.get(keys.input), old.userMask ? ctx.app.store.get(keys.mask) : null])
      if (!image) throw new TRPCError({ code: 'NOT_FOUND', message: "The job's photo is no longer stored." })
      const { steps, models } = await admit(
        ctx.app,
        old.steps.map((s) => s.spec),
      )
      const file = new File([new Uint8Array(image.data)], old.inputName, { type: image.contentType })
      const maskFile = mask ? new File([new Uint8Array(mask.data)], 'mask.png', { type: 'image/png' }) : null
      const job = await prepareJob(ctx.app, ctx.user, file, steps, models, null, maskFile)
      const { refused } = await admitJobs(ctx.app, ctx.user, ctx.accessToken, [job], ctx.requestId)
      if (refused.length > 0) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: refused[0]!.message })
      return toView(job)
    }),

  /** Deletes a finished job with its images; a running job must be cancelled first. */
  delete: protectedProcedure
    .input(JobId)
    .output(z.object({ deleted: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const job = await ownJob(ctx.app, ctx.user.sub, input.id)
      if (!isFinished(job.status)) throw new TRPCError({ code: 'CONFLICT', message: 'Cancel the job before deleting it.' })
      // The record first: once it is gone the job is gone for the user, whatever happens to its files.
      await ctx.app.jobs.delete(job)
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
      if (isFinished(view.status) || signal?.aborted) return
      // The store is the source of truth across replicas, so this reads it rather than local events.
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }),
})
