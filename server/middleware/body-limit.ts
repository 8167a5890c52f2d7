import type { IncomingMessage, ServerResponse } from 'node:http'
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc'
import { defineEventHandler, getCookie, getRequestURL, send, setResponseHeader, setResponseStatus, type H3Event } from 'h3'
import { useApp } from '../app'
import { ACCESS_COOKIE, REFRESH_COOKIE } from '../auth/session-cookies'

/**
 * Every request body is read here, before any handler, and never past `maxRequestBytes`
 * (MAX_REQUEST_BYTES): a Content-Length over it is refused before a byte is read, and a body
 * without one (chunked) is counted as it streams and refused as soon as it passes the limit. The
 * body read is handed on as `event._requestBody`, which h3's `readRawBody`/`getRequestWebStream`
 * (and through them trpc-nuxt's `toWebRequest`) take instead of reading the socket again.
 *
 * Bodies being held at once, process-wide, are also bounded (BUDGET_BYTES): a large upload waits
 * for room a while, then gets 503 "busy, retry", so ten concurrent maximum-size uploads cannot
 * take the web process (2 GB in AWS) down. A refused request's connection is closed shortly after
 * the answer, so what the client still sends is never read.
 *
 * Nitro runs server/middleware in file-name order: this runs before csrf.ts, which reads no body.
 */

const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const MiB = 1024 * 1024
/** Bodies this small (JSON calls, sign-ins) skip the shared budget: they cannot add up to much. */
const SMALL_BODY_BYTES = 256 * 1024
/** Request bytes held at once by this process: three maximum-size uploads with the defaults, or dozens of photos. */
const budgetBytes = (maxRequestBytes: number) => Math.max(maxRequestBytes, 160 * MiB)
/** How long an upload waits for room in the budget before it is told to retry. */
const BUDGET_WAIT_MS = 20_000
const RETRY_AFTER_S = 5
/** A body that sends nothing for this long is given up on (it would hold its share of the budget). */
const IDLE_TIMEOUT_MS = 30_000
/** After refusing a body, read (and drop) this much more at most, for this long, so the client can read the answer before the connection closes. */
const LINGER_BYTES = MiB
const LINGER_MS = 1_000

export default defineEventHandler(async (event) => {
  if (!PAYLOAD_METHODS.has(event.method)) return
  const { req, res } = event.node
  // Already read (a platform that buffers bodies itself, or a web Request): nothing to bound here.
  if (event._requestBody || event.web?.request || 'body' in req || 'rawBody' in req) return

  const limit = useApp().config.maxRequestBytes
  const lengthHeader = req.headers['content-length']
  const declared = lengthHeader === undefined ? null : Number(lengthHeader)
  if (declared !== null && !(Number.isSafeInteger(declared) && declared >= 0))
    return refuse(event, 400, 'BAD_REQUEST', 'The Content-Length header is not a number of bytes.')
  if (declared !== null && declared > limit)
    return refuse(
      event,
      413,
      'PAYLOAD_TOO_LARGE',
      `This request is ${megabytes(declared)}; the server takes at most ${megabytes(limit)} at once. Send fewer or smaller photos per request.`,
    )
  if (declared === 0 || (declared === null && !req.headers['transfer-encoding'])) return

  // A chunked body may grow to the limit, so it reserves all of it.
  const reserved = declared ?? limit
  let release = () => {}
  if (reserved > SMALL_BODY_BYTES) {
    // Only signed-in calls take large bodies (uploads): without a session there is nothing to read them for.
    if (!getCookie(event, ACCESS_COOKIE) && !getCookie(event, REFRESH_COOKIE)) return refuse(event, 401, 'UNAUTHORIZED', 'Sign in to continue.')
    const granted = await requestBudget(limit).acquire(reserved, BUDGET_WAIT_MS)
    if (!granted) {
      setResponseHeader(event, 'retry-after', RETRY_AFTER_S)
      return refuse(event, 503, 'SERVICE_UNAVAILABLE', `The server is busy receiving other uploads: retry in ${RETRY_AFTER_S} s.`)
    }
    release = granted
    // The body is held until the answer is sent: the handler parses and keeps it until then.
    onResponseDone(res, release)
  }

  const outcome = await readBounded(req, declared, limit)
  if (outcome.kind === 'aborted') {
    release()
    if (!res.writableEnded) res.end()
    return
  }
  if (outcome.kind === 'too-large')
    return refuse(
      event,
      413,
      'PAYLOAD_TOO_LARGE',
      `This request is over the ${megabytes(limit)} the server takes at once. Send fewer or smaller photos per request.`,
    )
  if (outcome.kind === 'stalled') return refuse(event, 408, 'TIMEOUT', `The upload stalled: nothing arrived for ${IDLE_TIMEOUT_MS / 1000} s.`)
  event._requestBody = oneShotStream(outcome.body)
})

type Outcome = { kind: 'read'; body: Buffer } | { kind: 'too-large' } | { kind: 'stalled' } | { kind: 'aborted' }

/** Reads the body into one buffer (sized by Content-Length when there is one), stopping at `limit`. */
function readBounded(req: IncomingMessage, declared: number | null, limit: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const target = declared === null ? null : Buffer.allocUnsafe(declared)
    const chunks: Buffer[] = []
    let received = 0
    const idle = setTimeout(() => finish({ kind: 'stalled' }), IDLE_TIMEOUT_MS)
    const finish = (outcome: Outcome) => {
      clearTimeout(idle)
      req.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onClose)
      if (outcome.kind !== 'read') req.pause()
      resolve(outcome)
    }
    const onData = (chunk: Buffer) => {
      idle.refresh()
      // Node's parser never delivers more than Content-Length; the limit covers chunked bodies.
      if (received + chunk.length > (target?.length ?? limit)) return finish({ kind: 'too-large' })
      if (target) chunk.copy(target, received)
      else chunks.push(chunk)
      received += chunk.length
    }
    const onEnd = () => finish({ kind: 'read', body: target ? target.subarray(0, received) : Buffer.concat(chunks, received) })
    const onAborted = () => finish({ kind: 'aborted' })
    const onClose = () => {
      if (!req.complete) finish({ kind: 'aborted' })
    }
    req.on('data', onData).on('end', onEnd).on('error', onAborted).on('close', onClose)
  })
}

/**
 * The body as a stream that gives up its buffer once read: the tRPC handler's Request copies it
 * as it parses, and this reference must not keep a second copy alive for the rest of the request.
 */
function oneShotStream(body: Buffer): ReadableStream<Uint8Array> {
  let pending: Buffer | null = body
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pending && pending.length > 0) controller.enqueue(pending)
      pending = null
      controller.close()
    },
    cancel() {
      pending = null
    },
  })
}

/**
 * Answers an error the way the caller reads errors: a tRPC error envelope under /api/trpc (the
 * pages and the CLI show its message as it is), h3's JSON error shape elsewhere. Then closes the
 * connection shortly, without reading what the client still sends.
 */
function refuse(event: H3Event, status: number, code: keyof typeof TRPC_ERROR_CODES_BY_KEY, message: string) {
  const url = getRequestURL(event)
  let body: unknown
  if (/^\/api\/trpc(\/|$)/.test(url.pathname)) {
    const path = url.pathname.replace(/^\/api\/trpc\/?/, '')
    let procedures: string[]
    try {
      procedures = decodeURIComponent(path).split(',')
    } catch {
      procedures = [path] // a malformed escape: still answer the refusal, never a 500
    }
    const envelope = (path: string) => ({ error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus: status, path } } })
    body = url.searchParams.get('batch') === '1' ? procedures.map(envelope) : envelope(procedures[0]!)
  } else body = { statusCode: status, statusMessage: message, message }
  lingerThenClose(event.node.req, event.node.res)
  setResponseStatus(event, status)
  return send(event, JSON.stringify(body), 'application/json')
}

/**
 * Drops what little more the client sends (so its kernel has taken the answer), then closes the
 * connection: the rest of a refused body is never read. A body that ends meanwhile leaves the
 * connection usable.
 */
function lingerThenClose(req: IncomingMessage, res: ServerResponse) {
  let dropped = 0
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > LINGER_BYTES) req.pause()
  })
  req.resume()
  res.once('finish', () => {
    if (req.complete) return
    const timer = setTimeout(() => req.socket?.destroy(), LINGER_MS)
    timer.unref()
    req.once('end', () => clearTimeout(timer))
  })
}

function onResponseDone(res: ServerResponse, done: () => void) {
  let called = false
  const once = () => {
    if (called) return
    called = true
    done()
  }
  res.once('finish', once)
  res.once('close', once)
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 10e6 ? 1 : 0)} MB`

/** Bytes of request bodies this process holds at once; waiters are served in order. */
class ByteBudget {
  private used = 0
  private readonly waiting: { bytes: number; grant: (release: () => void) => void }[] = []

  constructor(readonly total: number) {}

  /** Resolves with a release function, or null when no room came within `waitMs`. */
  acquire(bytes: number, waitMs: number): Promise<(() => void) | null> {
    const want = Math.min(bytes, this.total)
    if (this.waiting.length === 0 && this.used + want <= this.total) return Promise.resolve(this.take(want))
    return new Promise((resolve) => {
      const entry = { bytes: want, grant: (release: () => void) => resolve(release) }
      this.waiting.push(entry)
      setTimeout(() => {
        const at = this.waiting.indexOf(entry)
        if (at < 0) return
        this.waiting.splice(at, 1)
        resolve(null)
        this.drain()
      }, waitMs).unref()
    })
  }

  private take(bytes: number) {
    this.used += bytes
    let released = false
    return () => {
      if (released) return
      released = true
      this.used -= bytes
      this.drain()
    }
  }

  private drain() {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.total) {
      const next = this.waiting.shift()!
      next.grant(this.take(next.bytes))
    }
  }
}

let budget: ByteBudget | undefined
function requestBudget(maxRequestBytes: number) {
  budget ??= new ByteBudget(budgetBytes(maxRequestBytes))
  return budget
}
