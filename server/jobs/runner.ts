import type { Logger } from 'pino'
import type { StepState } from '../../contracts/api'
import type { Metrics } from '../metrics'
import type { BlobStore } from '../storage/store'
import { tokenExpiry, type ServiceIdentity } from '../auth/service-identity'
import { DispatchError, type Dispatcher } from './dispatcher'
import type { JobQueue } from './queue'
import { jobKeys, type JobRecord, type JobRef, type JobRepository } from './repository'

export interface RunnerOptions {
  repository: JobRepository
  store: BlobStore
  dispatcher: Dispatcher
  queue: JobQueue
  /** Calls services as the orchestrator when no valid user token is at hand (e.g. after a restart). */
  serviceIdentity: ServiceIdentity | null
  logger: Logger
  metrics: Metrics
  /** Jobs this orchestrator runs at once. */
  concurrency: number
  timeoutMs: number
  maxAttempts: number
  /** How long a step waits out a busy, loading or restarting service (tries that ran nothing) before failing. */
  transientWindowMs: number
  /** Delay before retry n (1-based); exponential by default. */
  backoffMs?: (attempt: number) => number
}

/** Waits between tries at a service that is busy or restarting: 0.5 s doubling to 15 s, with jitter so waiting jobs spread out. */
const transientBackoffMs = (wait: number) => Math.min(15_000, 500 * 2 ** (wait - 1)) * (0.8 + 0.4 * Math.random())

type JobError = NonNullable<JobRecord['error']>

/**
 * The one path every job takes after upload: queue -> each step dispatched to a service
 * replica, its output stored -> next step -> job succeeded. Every state change is written to the
 * store first, so a job survives the orchestrator: whoever claims it next resumes at the first
 * step that has no stored output.
 */
export class JobRunner {
  private readonly active = new Map<string, AbortController>()
  /** Users' access tokens, forwarded to the services; held in memory only, never stored. */
  private readonly userTokens = new Map<string, string>()
  /** Deliveries of a job that broke on something other than a service (e.g. storage), per job. */
  private readonly infraFailures = new Map<string, number>()

  constructor(private readonly options: RunnerOptions) {}

  start() {
    this.options.queue.consume((ref, heartbeat) => this.execute(ref, heartbeat), this.options.concurrency)
  }

  /** Queues a stored job; throws QueueFullError under back-pressure. */
  async submit(job: JobRef, accessToken: string) {
    this.userTokens.set(job.id, accessToken)
    try {
      await this.options.queue.enqueue({ ownerSub: job.ownerSub, id: job.id })
    } catch (error) {
      this.userTokens.delete(job.id)
      throw error
    }
  }

  /** Cancels a queued or running job; a finished job is returned unchanged. */
  async cancel(ref: JobRef): Promise<JobRecord | null> {
    const job = await this.options.repository.get(ref)
    if (!job || (job.status !== 'queued' && job.status !== 'running')) return job
    job.status = 'cancelled'
    for (const step of job.steps) if (step.status === 'pending' || step.status === 'running') step.status = 'cancelled'
    await this.options.repository.save(job)
    // The replica running it may be another process: it sees the record at its next progress save.
    this.active.get(ref.id)?.abort()
    return job
  }

  /**
   * Puts jobs a previous process left queued or running back in the queue. With an in-process
   * queue they exist only in the store; a durable queue (SQS) redelivers them by itself.
   */
  async recover(): Promise<number> {
    const unfinished = await this.options.repository.listUnfinished()
    for (const job of unfinished) await this.options.queue.enqueue(job).catch(() => {})
    return unfinished.length
  }

  private async tokenFor(ref: JobRef): Promise<string | null> {
    const user = this.userTokens.get(ref.id)
    if (user && tokenExpiry(user) - Date.now() > 60_000) return user
    return this.options.serviceIdentity ? this.options.serviceIdentity.accessToken() : null
  }

  /**
   * Runs one delivery. Failures of the store or other infrastructure are thrown, so the queue
   * delivers the job again later; after `maxAttempts` such deliveries the job is failed instead of
   * looping (a full disk does not heal by retrying).
   */
  private async execute(ref: JobRef, heartbeat: () => Promise<void>) {
    try {
      await this.executeOnce(ref, heartbeat)
      this.infraFailures.delete(ref.id)
    } catch (error) {
      const failures = (this.infraFailures.get(ref.id) ?? 0) + 1
      this.infraFailures.set(ref.id, failures)
      this.options.logger.error({ err: error, job: ref.id, failures }, 'job delivery failed')
      if (failures < this.options.maxAttempts) throw error
      this.infraFailures.delete(ref.id)
      const job = await this.options.repository.get(ref).catch(() => null)
      if (job)
        await this.finish(job, 'failed', {
          code: 'internal',
          message: 'Storage is full or unavailable, so the result could not be saved; run the job again later.',
        }).catch(() => {})
    }
  }

  private async executeOnce(ref: JobRef, heartbeat: () => Promise<void>) {
    const { repository, logger } = this.options
    const job = await repository.get(ref)
    // Idempotent: a redelivered job that already ended is simply acknowledged.
    if (!job || (job.status !== 'queued' && job.status !== 'running')) return
    const controller = new AbortController()
    this.active.set(ref.id, controller)
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.options.timeoutMs)])
    const log = logger.child({ job: ref.id })
    try {
      job.status = 'running'
      for (let index = job.steps.findIndex((s) => s.status !== 'succeeded'); index >= 0 && index < job.steps.length; index++) {
        job.currentStep = index
        const failure = await this.runStep(job, index, signal, controller, heartbeat, log)
        if (failure === 'cancelled') {
          job.status = 'cancelled' // the record says so already; keeps late progress saves from undoing it
          this.options.metrics.jobsFinished.inc({ status: 'cancelled' })
          return
        }
        if (failure) return await this.finish(job, 'failed', failure)
      }
      job.output = job.steps.at(-1)!.output
      log.info({ attempts: job.attempts, steps: job.steps.length }, 'job succeeded')
      await this.finish(job, 'succeeded', null)
    } finally {
      this.active.delete(ref.id)
      this.userTokens.delete(ref.id)
    }
  }

  /** Runs one step with retries; returns null on success, 'cancelled', or the error to record. */
  private async runStep(
    job: JobRecord,
    index: number,
    signal: AbortSignal,
    controller: AbortController,
    heartbeat: () => Promise<void>,
    log: Logger,
  ): Promise<JobError | 'cancelled' | null> {
    const { repository, store, dispatcher } = this.options
    const step = job.steps[index]!
    const input = await store.get(index === 0 ? jobKeys(job).input : jobKeys(job).stepOutput(index - 1))
    if (!input) return { code: 'internal', message: 'An input of this job is missing from storage; run it again.' }
    // The user's mask goes with every step; a service hands it only to models that take one (capabilities.mask).
    const mask = job.userMask ? (await store.get(jobKeys(job).mask))?.data : null
    // Tries that found the service busy, loading or unreachable ran nothing: they wait within a
    // window of time instead of using up attempts, so a restart or a rush delays the job, not fails it.
    let waitingSince: number | null = null
    let waits = 0
    for (let attempt = 1; ; ) {
      job.attempts++
      job.status = 'running'
      step.status = 'running'
      step.progress = null
      await repository.save(job)
      const token = await this.tokenFor(job).catch(() => null)
      if (!token) return { code: 'unauthorized', message: 'This job was interrupted and cannot be resumed without your session; run it again.' }
      let lastSave = Date.now()
      const stopTimer = this.options.metrics.stepDuration.startTimer({ model: step.spec.model })
      try {
        const result = await dispatcher.run(step.spec, input.data, {
          accessToken: token,
          requestId: job.id,
          signal,
          mask,
          onEvent: (event) => {
            if (event.type === 'preview') {
              // Stored, then announced with the next progress save: the page fetches it by the tile count it was taken at.
              void store
                .put(jobKeys(job).preview(index), Buffer.from(event.jpeg, 'base64'), 'image/jpeg')
                .then(() => step.status === 'running' && step.progress && (step.progress = { ...step.progress, previewAt: event.done }))
                .catch((error) => log.warn({ err: error }, 'preview not stored'))
              return
            }
            if (event.type !== 'progress') return
            step.progress = { done: event.done, total: event.total, previewAt: step.progress?.previewAt }
            // At most twice a second: pollers see progress, the store is spared, and a cancel
            // recorded by another replica is noticed.
            if (Date.now() - lastSave < 500) return
            lastSave = Date.now()
            void heartbeat().catch(() => {})
            void repository.get(job).then((current) => {
              if (current?.status === 'cancelled') controller.abort()
              else if (!controller.signal.aborted) return repository.save(job)
            })
          },
        })
        await store.put(jobKeys(job).stepOutput(index), result.bytes, result.contentType)
        step.output = { width: result.width, height: result.height, bytes: result.bytes.length, contentType: result.contentType }
        step.report = result.report ?? null
        step.status = 'succeeded'
        stopTimer({ outcome: 'succeeded' })
        const progress = step.progress as StepState['progress'] // set by the callback above
        if (progress) step.progress = { done: progress.total, total: progress.total }
        await repository.save(job)
        return null
      } catch (error) {
        stopTimer({ outcome: controller.signal.aborted ? 'cancelled' : 'failed' })
        if (controller.signal.aborted) return 'cancelled'
        if (signal.aborted)
          return { code: 'service_unavailable', message: `The job took longer than ${formatDuration(this.options.timeoutMs)} and was stopped.` }
        if (!(error instanceof DispatchError)) throw error
        if (error.transient) {
          waitingSince ??= Date.now()
          if (Date.now() - waitingSince < this.options.transientWindowMs) {
            log.warn({ step: index, waits: ++waits, reason: error.message }, 'service not available yet; the step waits')
            // Cancelled on another replica meanwhile: that record wins.
            if ((await repository.get(job))?.status === 'cancelled') return 'cancelled'
            job.status = 'queued'
            step.status = 'pending'
            await repository.save(job)
            void heartbeat().catch(() => {})
            await sleep(Math.min(transientBackoffMs(waits), Math.max(0, waitingSince + this.options.transientWindowMs - Date.now())), signal)
            if (controller.signal.aborted) return 'cancelled'
            if (signal.aborted)
              return { code: 'service_unavailable', message: `The job took longer than ${formatDuration(this.options.timeoutMs)} and was stopped.` }
            continue
          }
          step.status = 'failed'
          return {
            code: error.code,
            message: `${error.message} It was still unavailable after ${formatDuration(this.options.transientWindowMs)} of waiting; run the job again later.`,
          }
        }
        waitingSince = null
        // A user token the service refuses (expired mid-queue) is replaced by the orchestrator's own.
        const staleUserToken = error.code === 'unauthorized' && this.userTokens.delete(job.id) && this.options.serviceIdentity !== null
        if ((error.retryable || staleUserToken) && attempt < this.options.maxAttempts) {
          log.warn({ step: index, attempt, reason: error.message }, 'retrying step')
          await sleep((this.options.backoffMs ?? ((n) => 500 * 2 ** (n - 1)))(attempt), signal)
          attempt++
          continue
        }
        step.status = 'failed'
        return { code: error.code, message: error.message }
      }
    }
  }

  private async finish(job: JobRecord, status: JobRecord['status'], error: JobRecord['error']) {
    // A cancel that raced with the end of the job wins: the user asked for it.
    const current = await this.options.repository.get(job)
    if (current?.status === 'cancelled') {
      job.status = 'cancelled'
      return
    }
    job.status = status
    job.error = error
    await this.options.repository.save(job)
    this.options.metrics.jobsFinished.inc({ status })
  }
}

const formatDuration = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} seconds`)

function sleep(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}
