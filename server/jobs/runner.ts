import type { Logger } from 'pino'
import type { BlobStore } from '../storage/store'
import { DispatchError, type Dispatcher } from './dispatcher'
import { jobKeys, type JobRecord, type JobRef, type JobRepository } from './repository'

export interface RunnerOptions {
  repository: JobRepository
  store: BlobStore
  dispatcher: Dispatcher
  logger: Logger
  /** Jobs sent to the services at once; each service queues or refuses beyond its own capacity. */
  concurrency: number
  timeoutMs: number
  maxAttempts: number
  /** Delay before retry n (1-based); exponential by default. */
  backoffMs?: (attempt: number) => number
}

/**
 * The one path every job takes after upload: queue -> dispatch to a service replica ->
 * result stored -> record updated. State lives in the store, so a restart can pick jobs up.
 */
export class JobRunner {
  private readonly queue: JobRef[] = []
  private readonly active = new Map<string, AbortController>()
  /** Users' access tokens, forwarded to the services; held in memory only, never stored. */
  private readonly tokens = new Map<string, string>()
  private running = 0
  private readonly idleWaiters: (() => void)[] = []

  constructor(private readonly options: RunnerOptions) {}

  enqueue(job: JobRef, accessToken: string) {
    this.tokens.set(job.id, accessToken)
    this.queue.push({ ownerSub: job.ownerSub, id: job.id })
    this.pump()
  }

  /** Cancels a queued or running job; a finished job is returned unchanged. */
  async cancel(ref: JobRef): Promise<JobRecord | null> {
    const job = await this.options.repository.get(ref)
    if (!job || (job.status !== 'queued' && job.status !== 'running')) return job
    const controller = this.active.get(ref.id)
    if (controller) controller.abort(new Error('cancelled'))
    job.status = 'cancelled'
    job.error = null
    await this.options.repository.save(job)
    return job
  }

  /** Jobs left queued or running by a previous process. */
  async recover(): Promise<number> {
    const unfinished = await this.options.repository.listUnfinished()
    for (const job of unfinished) {
      // The user's token died with the old process; the job cannot be sent on their behalf.
      job.status = 'failed'
      job.error = { code: 'service_unavailable', message: 'The server restarted while this job was waiting; run it again.' }
      await this.options.repository.save(job)
    }
    return unfinished.length
  }

  /** Resolves when nothing is queued or running (tests and graceful shutdown). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private pump() {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const ref = this.queue.shift()!
      this.running++
      this.execute(ref)
        .catch((error) => this.options.logger.error({ err: error, job: ref.id }, 'job runner failed'))
        .finally(() => {
          this.running--
          this.tokens.delete(ref.id)
          this.pump()
          if (this.running === 0 && this.queue.length === 0) this.idleWaiters.splice(0).forEach((r) => r())
        })
    }
  }

  private async execute(ref: JobRef) {
    const { repository, store, dispatcher, logger } = this.options
    const job = await repository.get(ref)
    if (!job || job.status !== 'queued') return
    const input = await store.get(jobKeys(ref).input)
    if (!input) return this.finish(job, 'failed', { code: 'internal', message: 'The uploaded image is missing from storage.' })
    const controller = new AbortController()
    this.active.set(ref.id, controller)
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.options.timeoutMs)])
    const log = logger.child({ job: ref.id, model: job.step.model })
    try {
      for (;;) {
        job.attempts++
        job.status = 'running'
        job.progress = null
        await repository.save(job)
        let lastSave = Date.now()
        try {
          const result = await dispatcher.run(job.step, input.data, {
            accessToken: this.tokens.get(ref.id) ?? '',
            requestId: ref.id,
            signal,
            onEvent: (event) => {
              if (event.type !== 'progress') return
              job.progress = { done: event.done, total: event.total }
              // Progress is persisted at most twice a second: pollers see it, the disk is spared.
              if (Date.now() - lastSave > 500) {
                lastSave = Date.now()
                void repository.save({ ...job })
              }
            },
          })
          await store.put(jobKeys(ref).result, result.bytes, result.contentType)
          job.output = { width: result.width, height: result.height, bytes: result.bytes.length, contentType: result.contentType }
          const progress = job.progress as JobRecord['progress'] // set by the callback above
          if (progress) progress.done = progress.total
          log.info({ attempts: job.attempts }, 'job succeeded')
          return await this.finish(job, 'succeeded', null)
        } catch (error) {
          if (controller.signal.aborted) return // cancel() already recorded it
          if (signal.aborted) return await this.finish(job, 'failed', { code: 'service_unavailable', message: `The job took longer than ${Math.round(this.options.timeoutMs / 60000)} minutes and was stopped.` })
          if (!(error instanceof DispatchError)) throw error
          if (error.retryable && job.attempts < this.options.maxAttempts) {
            log.warn({ attempt: job.attempts, reason: error.message }, 'retrying job')
            await sleep((this.options.backoffMs ?? ((n) => 500 * 2 ** (n - 1)))(job.attempts), signal)
            continue
          }
          return await this.finish(job, 'failed', { code: error.code, message: error.message })
        }
      }
    } catch (error) {
      log.error({ err: error }, 'job failed unexpectedly')
      await this.finish(job, 'failed', { code: 'internal', message: 'Something went wrong on our side; the error was logged.' })
    } finally {
      this.active.delete(ref.id)
    }
  }

  private async finish(job: JobRecord, status: JobRecord['status'], error: JobRecord['error']) {
    // A cancel that raced with the end of the job wins: the user asked for it.
    const current = await this.options.repository.get(job)
    if (current?.status === 'cancelled') return
    job.status = status
    job.error = error
    await this.options.repository.save(job)
  }
}

function sleep(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}
