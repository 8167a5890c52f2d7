import { readRunStream, RunStreamError, type RunResult } from '../../contracts/run-stream'
import { ServiceError, type ModelTask, type RunEvent, type ServiceErrorCode } from '../../contracts/service'
import type { StepSpec } from '../../contracts/api'

/** A failure of one attempt; `retryable` says whether another replica or a later try may succeed. */
export class DispatchError extends Error {
  constructor(
    readonly code: ServiceErrorCode | 'service_unavailable',
    message: string,
    readonly retryable: boolean,
  ) {
    super(message)
  }
}

/** Sends one step to a replica of the service that runs its task, and reads progress and result. */
export class Dispatcher {
  private next = 0

  constructor(private readonly replicas: Record<ModelTask, string[]>) {}

  serviceUrl(task: ModelTask): string {
    const urls = this.replicas[task] ?? []
    if (urls.length === 0) throw new DispatchError('service_unavailable', `No ${task} service is configured.`, false)
    return urls[this.next++ % urls.length]!
  }

  async run(step: StepSpec, image: Uint8Array, options: { accessToken: string; requestId: string; signal: AbortSignal; onEvent: (event: RunEvent) => void }): Promise<RunResult> {
    const url = new URL('/v1/run', this.serviceUrl(step.task))
    url.searchParams.set('model', step.model)
    url.searchParams.set('scale', String(step.scale))
    let response: Response
    try {
      response = await fetch(url, {
        method: 'POST',
        // Node's fetch sends any byte view; the DOM typing wants an ArrayBuffer-backed one.
        body: image as Uint8Array<ArrayBuffer>,
        headers: { authorization: `Bearer ${options.accessToken}`, 'content-type': 'application/octet-stream', 'x-request-id': options.requestId },
        signal: options.signal,
      })
    } catch (error) {
      if (options.signal.aborted) throw error
      throw new DispatchError('service_unavailable', `The ${step.task} service could not be reached.`, true)
    }
    if (!response.ok || !response.body) {
      const parsed = ServiceError.safeParse(await response.json().catch(() => null))
      const retryable = response.status === 503 || response.status >= 500
      if (parsed.success) throw new DispatchError(parsed.data.code, parsed.data.message, retryable && parsed.data.code !== 'internal')
      throw new DispatchError('service_unavailable', `The ${step.task} service answered HTTP ${response.status}.`, retryable)
    }
    try {
      return await readRunStream(response.body, options.onEvent)
    } catch (error) {
      if (error instanceof RunStreamError) throw new DispatchError(error.failure.code, error.failure.message, false)
      if (options.signal.aborted) throw error
      throw new DispatchError('service_unavailable', `The ${step.task} service stopped in the middle of the job.`, true)
    }
  }
}
