import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { encodeRunEvent } from '../../contracts/run-stream'
import { RUN_STREAM_TYPE, RunOptions, type ImageLimits, type RunEvent, type ServiceErrorCode, type ServiceInfo } from '../../contracts/service'
import { InvalidTokenError, type VerifiedUser } from '../../lib/auth/access-token'
import { ensureConverted } from '../convert/catalogue'
import type { ModelAdapter } from '../models/adapter'
import { InferenceError } from '../runtime/errors'
import { decodeImage, encodePng, inspectImage, resizePixels } from '../runtime/image'

export interface InferenceServiceOptions {
  name: string
  version: string
  adapters: ModelAdapter[]
  limits: ImageLimits
  verifyToken: (token: string | undefined) => Promise<VerifiedUser>
  /** Runs at once; each already uses every core through ORT's intra-op threads. */
  maxConcurrentRuns: number
  /** Runs allowed to wait for a slot before new ones get `busy`. */
  maxQueuedRuns: number
  logger: Logger
}

const HTTP_STATUS: Record<ServiceErrorCode, number> = {
  unauthorized: 401,
  bad_request: 400,
  bad_image: 422,
  too_large: 413,
  unsupported_model: 404,
  not_ready: 503,
  busy: 503,
  cancelled: 499,
  internal: 500,
}

/**
 * The one HTTP server every inference service runs (see contracts/service.ts):
 * GET /healthz, GET /readyz, GET /v1/info, POST /v1/run. A service is this plus its adapters.
 */
export function createInferenceService(options: InferenceServiceOptions) {
  const { logger, limits } = options
  const models = new Map(options.adapters.map((a) => [a.info.id, a]))
  let readiness: { ready: true } | { ready: false; reason: string } = { ready: false, reason: 'loading models' }
  let running = 0
  const waiting: (() => void)[] = []

  async function prepare() {
    const started = Date.now()
    try {
      for (const adapter of options.adapters) {
        const paths = new Map<string, string>()
        for (const weights of adapter.weights) {
          const { path, converted } = await ensureConverted(weights)
          if (converted) logger.info({ file: weights.onnxFile, from: weights.npmPackage }, 'converted model to ONNX')
          paths.set(weights.onnxFile, path)
        }
        await adapter.load(paths)
      }
      readiness = { ready: true }
      logger.info({ ms: Date.now() - started, models: [...models.keys()] }, 'models loaded')
    } catch (error) {
      readiness = { ready: false, reason: (error as Error).message }
      throw error
    }
  }

  const info = (): ServiceInfo => ({ service: options.name, version: options.version, models: options.adapters.map((a) => a.info), limits })

  async function acquireSlot() {
    if (running < options.maxConcurrentRuns) {
      running++
      return
    }
    if (waiting.length >= options.maxQueuedRuns) throw new InferenceError('busy', `The ${options.name} service is busy; retry in a few seconds.`)
    await new Promise<void>((resolve) => waiting.push(resolve))
  }
  function releaseSlot() {
    const next = waiting.shift()
    if (next) next()
    else running--
  }

  async function handleRun(req: IncomingMessage, res: ServerResponse, url: URL) {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
    let user: VerifiedUser
    try {
      user = await options.verifyToken(token)
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new InferenceError('unauthorized', error.message)
      throw error
    }
    if (!readiness.ready) throw new InferenceError('not_ready', `The ${options.name} service is still loading its models.`)
    const parsed = RunOptions.safeParse(Object.fromEntries(url.searchParams))
    if (!parsed.success) throw new InferenceError('bad_request', `Invalid options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
    const runOptions = parsed.data
    const adapter = models.get(runOptions.model)
    if (!adapter) throw new InferenceError('unsupported_model', `This service has no model '${runOptions.model}'; it offers ${[...models.keys()].join(', ')}.`)
    if (!adapter.info.scales.includes(runOptions.scale)) throw new InferenceError('bad_request', `${adapter.info.title} supports x${adapter.info.scales.join(', x')}, not x${runOptions.scale}.`)
    const body = await readBody(req, limits.maxInputBytes)
    await inspectImage(body, limits, runOptions.scale)

    const abort = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) abort.abort()
    })
    await acquireSlot()
    const log = logger.child({ requestId: req.headers['x-request-id'], user: user.sub, model: runOptions.model, scale: runOptions.scale })
    try {
      if (abort.signal.aborted) return
      const started = Date.now()
      const image = await decodeImage(body, limits, runOptions.scale)
      res.writeHead(200, { 'content-type': RUN_STREAM_TYPE, 'cache-control': 'no-store' })
      const send = (event: RunEvent) => res.write(encodeRunEvent(event))
      send({ type: 'accepted', width: image.rgb.width, height: image.rgb.height })
      try {
        const rgb = await adapter.process(image.rgb, runOptions, { signal: abort.signal, onProgress: (done, total) => send({ type: 'progress', done, total }) })
        const alpha = image.alpha && (await resizePixels(image.alpha, rgb.width, rgb.height))
        const png = await encodePng(rgb, alpha)
        send({ type: 'result', contentType: 'image/png', bytes: png.length, width: rgb.width, height: rgb.height })
        res.end(png)
        log.info({ ms: Date.now() - started, width: image.rgb.width, height: image.rgb.height }, 'run finished')
      } catch (error) {
        const failure = toFailure(error)
        if (failure.code === 'cancelled') log.info('run cancelled by the client')
        else log.error({ err: error }, 'run failed')
        res.end(encodeRunEvent({ type: 'error', ...failure }))
      }
    } finally {
      releaseSlot()
    }
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://service')
    try {
      if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true })
      if (req.method === 'GET' && url.pathname === '/readyz') return readiness.ready ? sendJson(res, 200, { ready: true }) : sendJson(res, 503, { ready: false, code: 'not_ready', message: readiness.reason })
      if (req.method === 'GET' && url.pathname === '/v1/info') return sendJson(res, 200, info())
      if (req.method === 'POST' && url.pathname === '/v1/run') return await handleRun(req, res, url)
      sendJson(res, 404, { code: 'bad_request', message: `No route ${req.method} ${url.pathname}` })
    } catch (error) {
      const failure = toFailure(error)
      if (failure.code === 'internal') logger.error({ err: error }, 'request failed')
      if (!res.headersSent) sendJson(res, HTTP_STATUS[failure.code], failure)
      else res.end()
    }
  })
  server.requestTimeout = 0 // long runs stream progress; the orchestrator owns timeouts
  return { server, prepare, info }
}

function toFailure(error: unknown): { code: ServiceErrorCode; message: string } {
  if (error instanceof InferenceError) return { code: error.code, message: error.message }
  return { code: 'internal', message: 'The model failed on this image; the error was logged.' }
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** Reads the request body, refusing more than `maxBytes` without buffering it. */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'])
  if (declared > maxBytes) throw new InferenceError('too_large', `The upload is ${declared} bytes; the limit is ${maxBytes}.`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw new InferenceError('too_large', `The upload is over the limit of ${maxBytes} bytes.`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
