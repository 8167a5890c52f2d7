import type { JobStatus, JobView, StepState } from './api'
import { outputScale, outputSize, type StepOptions } from './service'

/**
 * What the pages, the CLI and the server say about a job in one place: whether it is still going,
 * how far along it is, and how big its files are.
 */

/** Statuses a job can still leave: it waits for a service or runs on one. */
export const UNFINISHED_STATUSES = ['queued', 'running'] as const satisfies readonly JobStatus[]

export const isUnfinished = (status: JobStatus | StepState['status']) => status === 'queued' || status === 'running' || status === 'pending'

/** A job is finished when nothing more will happen to it (succeeded, failed or cancelled). */
export const isFinished = (status: JobStatus) => !isUnfinished(status)

/** How far a step is, 0..1: finished steps count whole, the running one by its own progress. */
export function stepFraction(step: Pick<StepState, 'status' | 'progress'>): number {
  if (step.status === 'succeeded') return 1
  if (step.status !== 'running' || !step.progress) return 0
  return Math.min(1, step.progress.done / Math.max(1, step.progress.total))
}

/** How far the whole job is, 0..1, each step weighing the same. */
export function jobFraction(job: Pick<JobView, 'status' | 'steps'>): number {
  if (job.status === 'succeeded') return 1
  if (job.steps.length === 0) return 0
  return job.steps.reduce((sum, step) => sum + stepFraction(step), 0) / job.steps.length
}

export const percent = (fraction: number) => `${Math.round(100 * fraction)}%`

/** "512 KB", "3.4 MB", "25 MB": what people read on upload limits and downloads. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`
  const mb = bytes / (1024 * 1024)
  return `${mb.toFixed(mb < 10 ? 1 : 0)} MB`
}

/** "16 MP", "4.3 MP": pixel counts on limits and refusals. */
export function formatPixels(pixels: number): string {
  const mp = pixels / 1e6
  return `${mp.toFixed(mp < 10 ? 1 : 0).replace(/\.0$/, '')} MP`
}

/** "4000×3000": an image's size as the pages show it (and the e2e tests read it). */
export const formatSize = (image: { width: number; height: number }) => `${image.width}×${image.height}`

/** The size a pipeline makes of an image, step by step (a scale, or a target width or height). */
export const pipelineSize = (image: { width: number; height: number }, steps: readonly { options?: StepOptions }[]) =>
  steps.reduce((size, step) => outputSize(size, step.options), { width: image.width, height: image.height })

/** The scale the studio and the CLI start from among a model's: ×4 where offered (what most photos need), else the largest. */
export const preferredScale = (scales: readonly number[]) => (scales.includes(4) ? 4 : Math.max(...scales))

/**
 * Milliseconds left for a running job, or null before it can be told: the pace seen since `since`
 * (when the page first saw the job running, and how far it was then) carried over the share still
 * to do; before any progress since, the pace since the job was created (which counts its wait in
 * the queue too, so it errs long). Nothing under 5 % done: one tile says little about the rest.
 */
export function estimateLeft(now: number, createdAt: number, fraction: number, since: { at: number; fraction: number } | null): number | null {
  if (fraction < 0.05 || fraction >= 1) return null
  const gained = since ? fraction - since.fraction : 0
  if (since && gained > 0 && now > since.at) return ((now - since.at) * (1 - fraction)) / gained
  return now > createdAt ? ((now - createdAt) * (1 - fraction)) / fraction : null
}

/** A step's expected cost: its options and its model's measured milliseconds per input megapixel, by scale. */
export interface CostedStep {
  options?: StepOptions
  msPerMegapixel?: Record<string, number>
}

/**
 * Milliseconds each step is expected to take on `image` (each on the previous step's output), from the models'
 * measured cost per input megapixel (bench/model-cost.ts); null for a step whose model has no figure. A target
 * width or height costs what the smallest measured scale that reaches it costs (the network that runs).
 */
export function expectedStepMs(image: { width: number; height: number }, steps: readonly CostedStep[]): (number | null)[] {
  let size = { width: image.width, height: image.height }
  return steps.map((step) => {
    const next = outputSize(size, step.options)
    const costs = step.msPerMegapixel ?? {}
    const wanted = typeof step.options?.width === 'number' || typeof step.options?.height === 'number' ? next.width / size.width : outputScale(step.options)
    const measured = Object.keys(costs)
      .map(Number)
      .sort((a, b) => a - b)
    const scale = measured.find((s) => s >= wanted - 1e-9) ?? measured.at(-1)
    const ms = scale === undefined ? null : (costs[String(scale)]! * size.width * size.height) / 1e6
    size = next
    return ms
  })
}

/** "about 4 s", "about 2 min": a typical time, rounded as people say it. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000
  if (seconds < 1) return 'under a second'
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`
  const minutes = seconds / 60
  return minutes < 90 ? `about ${Math.round(minutes)} min` : `about ${(minutes / 60).toFixed(1).replace(/\.0$/, '')} h`
}

/**
 * Milliseconds left from the models' measured costs (expectedStepMs) for the steps not yet done, the running
 * one by the share of it still to do; null when a step has no figure. Shown until the page has seen enough of
 * the job's own pace (estimateLeft), which then wins: it is this machine's, not the reference one's.
 */
export function expectedLeft(expected: readonly (number | null)[], steps: readonly Pick<StepState, 'status' | 'progress'>[]): number | null {
  let left = 0
  for (const [index, step] of steps.entries()) {
    const ms = expected[index]
    if (step.status === 'succeeded') continue
    if (ms === null || ms === undefined) return null
    left += ms * (1 - stepFraction(step))
  }
  return left
}
