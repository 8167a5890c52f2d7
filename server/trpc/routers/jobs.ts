import { randomUUID } from 'node:crypto'
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { CreateJobForm, JobId, JobView } from '../../../contracts/api'
import { InferenceError } from '../../../inference/runtime/errors'
import { validateImage } from '../../../inference/runtime/image'
import { jobKeys, toView, type JobRecord } from '../../jobs/repository'
import { protectedProcedure, router } from '../init'

const MIME_BY_FORMAT: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', tiff: 'image/tiff', gif: 'image/gif', avif: 'image/avif', heif: 'image/heif' }

const CreateJobInput = z
  .instanceof(FormData, { message: 'Send the image as multipart form data.' })
  .transform((form) => Object.fromEntries(form.entries()))
  .pipe(CreateJobForm)

export const jobsRouter = router({
  create: protectedProcedure
    .input(CreateJobInput)
    .output(JobView)
    .mutation(async ({ ctx, input }) => {
      const { app, user } = ctx
      const { limits } = app.config
      if (input.image.size > limits.maxInputBytes)
        throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `The file is ${(input.image.size / 1048576).toFixed(1)} MB; the limit is ${(limits.maxInputBytes / 1048576).toFixed(0)} MB.` })
      const bytes = new Uint8Array(await input.image.arrayBuffer())
      let facts
      try {
        facts = await validateImage(bytes, limits, input.step.scale)
      } catch (error) {
        if (error instanceof InferenceError) throw new TRPCError({ code: error.code === 'too_large' ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: error.message })
        throw error
      }
      const now = new Date().toISOString()
      const job: JobRecord = {
        id: randomUUID(),
        ownerSub: user.sub,
        status: 'queued',
        step: input.step,
        inputName: input.image.name.slice(0, 200) || 'image',
        input: { width: facts.width, height: facts.height, bytes: bytes.length, contentType: MIME_BY_FORMAT[facts.format] ?? 'application/octet-stream' },
        output: null,
        progress: null,
        error: null,
        createdAt: now,
        updatedAt: now,
        attempts: 0,
      }
      // Input first, record second: a record never points at a missing upload.
      await app.store.put(jobKeys(job).input, bytes, job.input.contentType)
      await app.jobs.save(job)
      app.runner.enqueue(job, ctx.accessToken)
      app.logger.info({ job: job.id, user: user.sub, step: job.step, requestId: ctx.requestId }, 'job created')
      return toView(job)
    }),

  get: protectedProcedure
    .input(JobId)
    .output(JobView)
    .query(async ({ ctx, input }) => {
      const job = await ctx.app.jobs.get({ ownerSub: ctx.user.sub, id: input.id })
      if (!job) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such job.' })
      return toView(job)
    }),

  list: protectedProcedure.output(z.array(JobView)).query(async ({ ctx }) => (await ctx.app.jobs.listForUser(ctx.user.sub)).slice(0, 50).map(toView)),

  cancel: protectedProcedure
    .input(JobId)
    .output(JobView)
    .mutation(async ({ ctx, input }) => {
      const job = await ctx.app.runner.cancel({ ownerSub: ctx.user.sub, id: input.id })
      if (!job) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such job.' })
      return toView(job)
    }),
})
