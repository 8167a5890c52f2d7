import { RunEvent, type ServiceError, type StepReport } from './service'

/** Encodes one event line of the run stream. */
export function encodeRunEvent(event: RunEvent): string {
  return `${JSON.stringify(event)}\n`
}

export interface RunResult {
  contentType: string
  width: number
  height: number
  bytes: Uint8Array
  report?: StepReport
}

export class RunStreamError extends Error {
  constructor(readonly failure: ServiceError) {
    super(failure.message)
  }
}

/**
 * Reads a /v1/run answer: progress events go to `onEvent`, the result comes back whole.
 * Throws RunStreamError for an `error` event, and a plain Error if the stream ends early
 * (a service that died mid-job), so callers can tell the two apart.
 */
export async function readRunStream(body: ReadableStream<Uint8Array>, onEvent: (event: RunEvent) => void): Promise<RunResult> {
  const reader = body.getReader()
  let pending: Uint8Array = new Uint8Array(0)
  let header: Extract<RunEvent, { type: 'result' }> | null = null
  let result: Uint8Array | null = null
  let filled = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      let chunk: Uint8Array = value
      if (!header) {
        pending = concat(pending, chunk)
        let newline: number
        while (!header && (newline = pending.indexOf(10)) >= 0) {
          const event = RunEvent.parse(JSON.parse(new TextDecoder().decode(pending.subarray(0, newline))))
          pending = pending.subarray(newline + 1)
          if (event.type === 'error') throw new RunStreamError(event)
          if (event.type === 'result') {
            header = event
            result = new Uint8Array(event.bytes)
          } else onEvent(event)
        }
        if (!header) continue
        chunk = pending
        pending = new Uint8Array(0)
      }
      const take = Math.min(chunk.length, result!.length - filled)
      result!.set(chunk.subarray(0, take), filled)
      filled += take
      if (filled === result!.length) break
    }
  } finally {
    reader.releaseLock()
    await body.cancel().catch(() => {})
  }
  if (!header || filled !== header.bytes)
    throw new Error(`the inference service closed the stream early (${header ? `${filled}/${header.bytes} result bytes` : 'no result'})`)
  return { contentType: header.contentType, width: header.width, height: header.height, bytes: result!, report: header.report }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
