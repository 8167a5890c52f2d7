import { readRunStream, RunStreamError, type RunResult } from '../../contracts/run-stream'
import { Detection, ServiceError, type ModelTask, type RunEvent, type ServiceErrorCode } from '../../contracts/service'
import type { StepSpec } from '../../contracts/api'

/**
 * A failure of one attempt; `retryable` says whether another replica or a later try may succeed,
 * `transient` that the service is only busy, still loading or restarting (nothing was run), so
 * waiting is the cure.
 */
export class DispatchError extends Error {
  constructor(
    readonly code: ServiceErrorCode | 'service_unavailable',
    message: string,
    readonly retryable: boolean,
    readonly transient = false,
  ) {
    super(message)
  }
}

const isTransientCode = (code: string) => code === 'busy' || code === 'not_ready'

export interface RunRequestOptions {
  accessToken: string
  requestId: string
  signal: AbortSignal
  onEvent: (event: RunEvent) => void
  /** The user's mask (PNG), when the job has one: the service uses it only for models that take a mask. */
  mask?: Uint8Array | null
}

export interface DispatcherOptions {
  /** Requests each replica gets at once; more wait here instead of queueing inside the service. */
  perReplicaConcurrency: number
  /** How long a replica that failed to answer is skipped. */
  unhealthyForMs: number
  /** A run that sends nothing (no headers, no progress) for this long is abandoned and retried elsewhere. */
  idleTimeoutMs: number
}

class Semaphore {
  private readonly waiters: (() => void)[] = []
  constructor(private free: number) {}
  async acquire(signal: AbortSignal) {
    if (this.free > 0) return void this.free--
    await new Promise<void>((resolve, reject) => {
      const wake = () => (signal.removeEventListener('abort', abort), resolve())
      const abort = () => {
        this.waiters.splice(this.waiters.indexOf(wake), 1)
        reject(signal.reason)
      }
      this.waiters.push(wake)
      signal.addEventListener('abort', abort, { once: true })
    })
  }
  release() {
    const next = this.waiters.shift()
    if (next) next()
    else this.free++
  }
}

/**
 * Sends one step to a replica of the service for its task and reads progress and result.
 * Replicas are taken in turn, skipping any that failed recently, so a retry lands elsewhere.
 */
export class Dispatcher {
  private readonly cursor = new Map<ModelTask, number>()
  private readonly unhealthyUntil = new Map<string, number>()
  private readonly slots = new Map<ModelTask, Semaphore>()

  constructor(
    private readonly replicas: Record<ModelTask, string[]>,
    private readonly options: DispatcherOptions = { perReplicaConcurrency: 2, unhealthyForMs: 10_000, idleTimeoutMs: 60_000 },
  ) {}

  /** The next replica for `task`, preferring healthy ones. */
  pickReplica(task: ModelTask): string {
    const urls = this.replicas[task] ?? []
    if (urls.length === 0) throw new DispatchError('service_unavailable', `No ${task} service is configured.`, false)
    const start = this.cursor.get(task) ?? 0
    this.cursor.set(task, start + 1)
    const now = Date.now()
    for (let i = 0; i < urls.length; i++) {
      const url = urls[(start + i) % urls.length]!
      if ((this.unhealthyUntil.get(url) ?? 0) <= now) return url
    }
    return urls[start % urls.length]!
  }

  /**
   * Runs `work` once one of the task's slots is free. Jobs and detections share the slots, so
   * neither can flood a service's own queue and make the other's requests come back "busy".
   */
  private async withSlot<T>(task: ModelTask, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    let slots = this.slots.get(task)
    if (!slots) this.slots.set(task, (slots = new Semaphore(Math.max(1, (this.replicas[task]?.length ?? 0) * this.options.perReplicaConcurrency))))
    await slots.acquire(signal)
    try {
      return await work()
    } finally {
      slots.release()
    }
  }

  run(step: StepSpec, image: Uint8Array, options: RunRequestOptions): Promise<RunResult> {
    return this.withSlot(step.task, options.signal, () => this.runOn(this.pickReplica(step.task), step, image, options))
  }

  /** Asks a service which regions it would work on (text boxes and mask), without running. */
  detect(
    task: ModelTask,
    model: string | undefined,
    image: Uint8Array,
    options: { accessToken: string; requestId: string; signal: AbortSignal },
  ): Promise<Detection> {
    return this.withSlot(task, options.signal, () => this.detectOn(this.pickReplica(task), task, model, image, options))
  }

  private async detectOn(
    replica: string,
    task: ModelTask,
    model: string | undefined,
    image: Uint8Array,
    options: { accessToken: string; requestId: string; signal: AbortSignal },
  ): Promise<Detection> {
    const url = new URL('/v1/detect', replica)
    if (model) url.searchParams.set('model', model)
    let response: Response
    try {
      response = await fetch(url, {
        method: 'POST',
        body: image as Uint8Array<ArrayBuffer>,
        headers: { authorization: `Bearer ${options.accessToken}`, 'x-request-id': options.requestId },
        signal: options.signal,
      })
    } catch (error) {
      if (options.signal.aborted) throw error
      this.unhealthyUntil.set(replica, Date.now() + this.options.unhealthyForMs)
      throw new DispatchError('service_unavailable', `The ${task} service could not be reached.`, true, true)
    }
    const body = await response.json().catch(() => null)
    if (!response.ok) {
      const parsed = ServiceError.safeParse(body)
      throw new DispatchError(
        parsed.success ? parsed.data.code : 'service_unavailable',
        parsed.success ? parsed.data.message : `The ${task} service answered HTTP ${response.status}.`,
        response.status >= 500,
        parsed.success && isTransientCode(parsed.data.code),
      )
    }
    return Detection.parse(body)
  }

  private async runOn(replica: string, step: StepSpec, image: Uint8Array, callerOptions: RunRequestOptions) {
    // A hung replica (alive but silent) must not hold a job until its overall timeout.
    const idle = new AbortController()
    let idleTimer = setTimeout(() => idle.abort(), this.options.idleTimeoutMs)
    const stillAlive = () => {
      clearTimeout(idleTimer)
      idleTimer = setTimeout(() => idle.abort(), this.options.idleTimeoutMs)
    }
    const options: RunRequestOptions = {
      ...callerOptions,
      signal: AbortSignal.any([callerOptions.signal, idle.signal]),
      onEvent: (event) => {
        stillAlive()
        callerOptions.onEvent(event)
      },
    }
    try {
      return await this.runWithSignal(replica, step, image, options, callerOptions.signal)
    } catch (error) {
      if (idle.signal.aborted && !callerOptions.signal.aborted) {
        this.unhealthyUntil.set(replica, Date.now() + this.options.unhealthyForMs)
        throw new DispatchError('service_unavailable', `The ${step.task} service stopped answering.`, true)
      }
      throw error
    } finally {
      clearTimeout(idleTimer)
    }
  }

  private async runWithSignal(replica: string, step: StepSpec, image: Uint8Array, options: RunRequestOptions, _callerSignal: AbortSignal) {
    const url = new URL('/v1/run', replica)
    url.searchParams.set('model', step.model)
    url.searchParams.set('options', JSON.stringify(step.options))
    // With a user mask the body is a multipart form; otherwise the image bytes alone.
    let body: BodyInit = image as Uint8Array<ArrayBuffer>
    const headers: Record<string, string> = { authorization: `Bearer ${options.accessToken}`, 'x-request-id': options.requestId }
    if (options.mask) {
      const form = new FormData()
      form.set('image', new Blob([image as Uint8Array<ArrayBuffer>]))
      form.set('mask', new Blob([options.mask as Uint8Array<ArrayBuffer>], { type: 'image/png' }))
      body = form
    } else headers['content-type'] = 'application/octet-stream'
    const markDown = () => this.unhealthyUntil.set(replica, Date.now() + this.options.unhealthyForMs)
    let response: Response
    try {
      response = await fetch(url, { method: 'POST', body, headers, signal: options.signal })
    } catch (error) {
      if (options.signal.aborted) throw error
      markDown()
      throw new DispatchError('service_unavailable', `The ${step.task} service could not be reached.`, true, true)
    }
    if (!response.ok || !response.body) {
      const parsed = ServiceError.safeParse(await response.json().catch(() => null))
      const retryable = response.status === 503 || response.status === 502 || response.status === 504
      if (retryable) markDown()
      if (parsed.success) throw new DispatchError(parsed.data.code, parsed.data.message, retryable, isTransientCode(parsed.data.code))
      throw new DispatchError('service_unavailable', `The ${step.task} service answered HTTP ${response.status}.`, retryable || response.status >= 500)
    }
    try {
      return await readRunStream(response.body, options.onEvent)
    } catch (error) {
      if (error instanceof RunStreamError)
        throw new DispatchError(error.failure.code, error.failure.message, isTransientCode(error.failure.code), isTransientCode(error.failure.code))
      if (options.signal.aborted) throw error
      markDown()
      throw new DispatchError('service_unavailable', `The ${step.task} service stopped in the middle of the job.`, true)
    }
  }
}
