import { createBatchFormData, createJobFormData, type JobView } from '~~/contracts/api'
import type { ImageLimits } from '~~/contracts/service'
import { sendBatchInParts } from './batchParts'
import type { PageSession } from './usePageSession'
import type { PhotoInput } from './usePhotoInput'
import type { Pipeline } from './usePipeline'
import { withMaskMode } from './taskChoice'

export type BatchStarted = { count: number; ids: string[]; rejected: { name: string; message: string }[] }

/** Starts the chosen pipeline on the photo (one job, with the painted mask) or on the batch (in parts). */
export function useJobSubmit(deps: {
  session: PageSession
  photo: PhotoInput
  pipeline: Pipeline
  limits: () => ImageLimits | null
  /** The mask painted for a model that takes one, if any. */
  mask: () => Promise<File | undefined>
  started: (job: JobView) => void
}) {
  const { $trpc } = useNuxtApp()
  const { session, photo } = deps
  const submitting = ref(false)
  const batchStarted = ref<BatchStarted | null>(null)
  /** Which request of a batch is uploading, when it takes several (the server's request limit). */
  const uploadPart = ref<{ index: number; count: number } | null>(null)

  async function startBatch(steps: NonNullable<Pipeline['selected']>['steps']) {
    // The server reads at most 2 x the per-photo limit (+ 1 MiB for the multipart headers) per request.
    const maxBytes = 2 * (deps.limits()?.maxInputBytes ?? 25 * 1024 * 1024)
    const files = photo.batch
    const send = (images: File[]) => $trpc.jobs.createBatch.mutate(createBatchFormData({ images, steps }))
    const result = await sendBatchInParts(files, maxBytes, send, (index, count) => void (uploadPart.value = { index, count }))
    uploadPart.value = null
    if (result.error !== undefined) {
      session.report(result.error)
      if (result.sent > 0) {
        // Only the photos not sent stay chosen, so "Try again" does not start the others twice.
        photo.keep(result.unsent)
        const problem = session.problem
        const note = `(${result.sent} of ${files.length} photos were sent and started; the rest are still chosen.)`
        if (problem) session.problem = { ...problem, message: `${problem.message} ${note}` }
      }
    }
    if (result.count > 0 || result.rejected.length > 0) batchStarted.value = { count: result.count, ids: result.ids, rejected: result.rejected }
  }

  async function submit() {
    const selected = deps.pipeline.selected
    if (!selected) return
    session.problem = null
    batchStarted.value = null
    submitting.value = true
    try {
      if (photo.batch.length > 0) return await startBatch(selected.steps)
      const image = photo.file
      if (!image) return
      // The edited mask is the whole truth: it started from the detection and the person changed it.
      const mask = await deps.mask()
      const steps = withMaskMode(selected.steps, selected.models, mask ? 'user' : 'detected')
      const created = await session.guard(() => $trpc.jobs.create.mutate(createJobFormData({ image, steps, mask })))
      if (created) deps.started(created)
    } finally {
      submitting.value = false
    }
  }

  return reactive({ submitting, batchStarted, uploadPart, submit })
}
