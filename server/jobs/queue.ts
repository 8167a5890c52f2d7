import type { JobRef } from './repository'

/** Thrown by enqueue when accepting more work would only grow memory or wait times without bound. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`The service is busy: retry in ${retryAfterSeconds} s.`)
  }
}

export type JobHandler = (ref: JobRef, heartbeat: () => Promise<void>) => Promise<void>

/**
 * Where jobs wait to be claimed by exactly one orchestrator. Delivery is at-least-once: a job whose
 * handler throws (or whose process dies) is delivered again, so handlers must be idempotent.
 * In-process by default; Amazon SQS when the orchestrator runs as several replicas.
 */
export interface JobQueue {
  enqueue(ref: JobRef): Promise<void>
  /** Starts delivering jobs to `handle`, at most `concurrency` at a time. */
  consume(handle: JobHandler, concurrency: number): void
  depth(): Promise<number>
  /** Stops taking new jobs and waits for the ones in flight. */
  stop(): Promise<void>
}

export class InProcessQueue implements JobQueue {
  private readonly waiting: JobRef[] = []
  private handler: JobHandler | null = null
  private concurrency = 1
  private inFlight = 0
  private retrying = 0
  private stopped = false
  private readonly idleWaiters: (() => void)[] = []

  constructor(
    private readonly capacity: number,
    private readonly retryDelayMs = 1000,
  ) {}

  async enqueue(ref: JobRef) {
    if (this.waiting.length >= this.capacity) throw new QueueFullError(Math.max(5, Math.ceil(this.waiting.length / Math.max(1, this.concurrency)) * 5))
    this.waiting.push(ref)
    this.pump()
  }

  consume(handle: JobHandler, concurrency: number) {
    this.handler = handle
    this.concurrency = concurrency
    this.pump()
  }

  async depth() {
    return this.waiting.length
  }

  async stop() {
    this.stopped = true
    await this.idle()
  }

  /** Resolves when nothing waits and nothing runs (tests and graceful shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private isIdle() {
    return this.inFlight === 0 && this.retrying === 0 && (this.waiting.length === 0 || this.stopped)
  }

  private pump() {
    while (this.handler && !this.stopped && this.inFlight < this.concurrency && this.waiting.length > 0) {
      const ref = this.waiting.shift()!
      this.inFlight++
      this.handler(ref, async () => {})
        .catch(() => {
          // Redeliver later, like SQS after a visibility timeout; the capacity check does not apply.
          this.retrying++
          setTimeout(() => {
            this.retrying--
            this.waiting.push(ref)
            this.pump()
          }, this.retryDelayMs)
        })
        .finally(() => {
          this.inFlight--
          this.pump()
          if (this.isIdle()) this.idleWaiters.splice(0).forEach((resolve) => resolve())
        })
    }
  }
}
