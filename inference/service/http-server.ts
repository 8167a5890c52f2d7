import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { encodeRunEvent } from '../../contracts/run-stream'
import sharp from 'sharp'
import { z } from 'zod'
import { checkStepOptions } from '../../contracts/model-options'
import {
  outputSize,
  RUN_STREAM_TYPE,
  RunQuery,
  StepReport,
  type StepOptions,
  type Detection,
  type ImageLimits,
  type ModelInfo,
  type RunEvent,
  type ServiceErrorCode,
  type ServiceInfo,
} from '../../contracts/service'
import { InvalidTokenError, type VerifiedUser } from '../../lib/auth/access-token'
import { modelSizeProblem } from '../../lib/limits'
import type { ModelAdapter } from '../models/adapter'
import { InferenceError } from '../runtime/errors'
import { decodeImage, encodePng, inspectImage, resizePixels, type Pixels } from '../runtime/image'
import measuredCostFile from '../models/measured-cost.json' with { type: 'json' }
import { throttledPreviews } from '../runtime/preview'
import { modelsDir, resolveModelFiles, userFilesPresent } from '../runtime/model-files'

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
  /** Where converted models and user files are (default: MODELS_DIR, .models/). */
  modelsDir?: string
  /** Transport limits (defaults: DEFAULT_HTTP_OPTIONS); start.ts reads them from the environment. */
  http?: Partial<ServiceHttpOptions>
}

/**
 * How long a client may take to send a request, and how many connections it may hold, so that slow
 * or idle sockets (slowloris) cannot pile up. Node's requestTimeout covers receiving the request
 * only (headers and body); a run's streamed answer afterwards may last as long as the run.
 */
export interface ServiceHttpOptions {
  /** To receive the request line and headers (Node's headersTimeout); also closes sockets that send nothing. */
  headersTimeoutMs: number
  /** To receive the whole request, body included (Node's requestTimeout); at least headersTimeoutMs. */
  requestTimeoutMs: number
  /** An idle keep-alive connection between requests is closed after this. */
  keepAliveTimeoutMs: number
  /** How often the two timeouts above are checked (Node's default, 30 s, let slow sockets outlive a 60 s headers timeout to 90 s). */
  connectionsCheckingIntervalMs: number
  /** Connections held at once; more are dropped at once. */
  maxConnections: number
}

/**
 * Headers are under a kilobyte: 10 s is generous. A body is at most 2 x 25 MB (a multipart image and
 * mask) from the orchestrator in the same network: 60 s is 1 MB/s. 5 s keep-alive is Node's default and
 * above undici's 4 s, so the orchestrator's fetch closes idle connections first. 256 connections is
 * 15 times the runs a service takes at once (1 running + 16 queued by default) plus health checks, and
 * well under the usual 1024 open files.
 */
export const DEFAULT_HTTP_OPTIONS: ServiceHttpOptions = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  connectionsCheckingIntervalMs: 1_000,
  maxConnections: 256,
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

/** Each model's milliseconds per input megapixel by scale, measured by bench/model-cost.ts (a model that sets its own wins). */
const measuredCost: Partial<Record<string, Record<string, number>>> = measuredCostFile

/**
 * The one HTTP server every inference service runs (see contracts/service.ts):
 * GET /healthz, GET /readyz, GET /v1/info, POST /v1/run. A service is this plus its adapters.
 */
export function createInferenceService(options: InferenceServiceOptions) {
  const { logger, limits } = options
  const describe = (adapter: ModelAdapter): ModelInfo => ({
    ...adapter.info,
    options: z.toJSONSchema(adapter.options, { io: 'input' }) as ModelInfo['options'],
    msPerMegapixel: adapter.info.msPerMegapixel ?? measuredCost[adapter.info.id],
  })
  // Offered until their files say otherwise: a model whose user file is absent or refused leaves at start.
  const dir = options.modelsDir ?? modelsDir()
  const models = new Map(options.adapters.filter((a) => userFilesPresent(a, dir)).map((a) => [a.info.id, { adapter: a, info: describe(a) }]))
  let readiness: { ready: true } | { ready: false; reason: string } = { ready: false, reason: 'loading models' }
  let running = 0
  const waiting: (() => void)[] = []

  async function prepare() {
    const started = Date.now()
    try {
      for (const { adapter } of [...models.values()]) {
        const resolved = await resolveModelFiles(adapter, dir, (line) => logger.info(line))
        if (resolved.status === 'ready') {
          await adapter.load(resolved.files)
          continue
        }
        models.delete(adapter.info.id)
        if (resolved.status === 'refused') logger.warn(resolved.reason)
        else logger.debug(`not offered: ${resolved.reason}`)
      }
      readiness = { ready: true }
      logger.info({ ms: Date.now() - started, models: [...models.keys()] }, 'models loaded')
    } catch (error) {
      readiness = { ready: false, reason: (error as Error).message }
      throw error
    }
  }

  const info = (): ServiceInfo => ({ service: options.name, version: options.version, models: [...models.values()].map((m) => m.info), limits })

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
    const parsed = RunQuery.safeParse(Object.fromEntries(url.searchParams))
    if (!parsed.success)
      throw new InferenceError('bad_request', `Invalid options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
    const query = parsed.data
    const model = models.get(query.model)
    if (!model) throw new InferenceError('unsupported_model', `This service has no model '${query.model}'; it offers ${[...models.keys()].join(', ')}.`)
    const { adapter } = model
    const checked = checkStepOptions(model.info, query.options)
    if (!checked.ok) throw new InferenceError('bad_request', checked.problem)
    const runOptions = adapter.options.parse(checked.options)
    const resultSize = (size: { width: number; height: number }) => outputSize(size, runOptions as StepOptions)
    const { image: body, mask: maskBytes } = await readRunBody(req, limits.maxInputBytes)
    const facts = await inspectImage(body, limits, resultSize)
    const problem = modelSizeProblem(adapter.info, facts.width, facts.height, runOptions as StepOptions)
    if (problem) throw new InferenceError('too_large', problem)

    const abort = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) abort.abort()
    })
    await acquireSlot()
    const log = logger.child({ requestId: req.headers['x-request-id'], user: user.sub, model: query.model, options: runOptions })
    try {
      if (abort.signal.aborted) return
      const started = Date.now()
      const image = await decodeImage(body, limits, resultSize)
      // A mask goes only to models that take one; others run on the image alone.
      const mask = maskBytes && adapter.info.capabilities.mask ? await decodeMask(maskBytes, image.rgb.width, image.rgb.height) : null
      res.writeHead(200, { 'content-type': RUN_STREAM_TYPE, 'cache-control': 'no-store' })
      const send = (event: RunEvent) => res.write(encodeRunEvent(event))
      send({ type: 'accepted', width: image.rgb.width, height: image.rgb.height })
      // Previews of the output so far, for the page to show the tiles as they come.
      const onPartial = throttledPreviews(
        image.rgb,
        ({ done, total, jpeg }) => send({ type: 'preview', done, total, jpeg: jpeg.toString('base64') }),
        () => !res.writableEnded && !abort.signal.aborted,
        (error) => log.warn({ err: error }, 'preview failed'),
      )
      try {
        let report: StepReport | undefined
        const rgb = await adapter.process(image.rgb, runOptions, {
          signal: abort.signal,
          mask,
          onProgress: (done, total) => send({ type: 'progress', done, total }),
          onPartial,
          report: (value) => (report = StepReport.parse(value)),
        })
        const alpha = image.alpha && (await resizePixels(image.alpha, rgb.width, rgb.height))
        const png = await encodePng(rgb, alpha)
        send({ type: 'result', contentType: 'image/png', bytes: png.length, width: rgb.width, height: rgb.height, report })
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

  /** POST /v1/detect: the regions a model would work on (text boxes and the mask), before running it. */
  async function handleDetect(req: IncomingMessage, res: ServerResponse, url: URL) {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
    try {
      await options.verifyToken(token)
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new InferenceError('unauthorized', error.message)
      throw error
    }
    if (!readiness.ready) throw new InferenceError('not_ready', `The ${options.name} service is still loading its models.`)
    const requested = url.searchParams.get('model')
    const adapter = requested ? models.get(requested)?.adapter : [...models.values()].find((m) => m.adapter.detect)?.adapter
    if (!adapter?.detect) throw new InferenceError('unsupported_model', `No model here finds regions${requested ? ` under the name '${requested}'` : ''}.`)
    const body = await readBody(req, limits.maxInputBytes)
    const facts = await inspectImage(body, limits, 1)
    const problem = modelSizeProblem(adapter.info, facts.width, facts.height)
    if (problem) throw new InferenceError('too_large', problem)
    await acquireSlot()
    try {
      const image = await decodeImage(body, limits, 1)
      const found = await adapter.detect(image.rgb)
      const mask = await sharp(found.mask.data, { raw: { width: found.mask.width, height: found.mask.height, channels: 1 } })
        .png()
        .toBuffer()
      const detection: Detection = {
        width: image.rgb.width,
        height: image.rgb.height,
        boxes: found.boxes.map(({ box: [x0, y0, x1, y1], score, text }) => ({
          points: [
            [x0, y0],
            [x1, y0],
            [x1, y1],
            [x0, y1],
          ],
          score,
          text: text ?? null,
        })),
        mask: `data:image/png;base64,${mask.toString('base64')}`,
      }
      sendJson(res, 200, detection)
    } finally {
      releaseSlot()
    }
  }

  const http = { ...DEFAULT_HTTP_OPTIONS, ...options.http }
  const server = createServer(
    {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: Math.max(http.requestTimeoutMs, http.headersTimeoutMs),
      keepAliveTimeout: http.keepAliveTimeoutMs,
      connectionsCheckingInterval: http.connectionsCheckingIntervalMs,
    },
    async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://service')
      try {
        if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true })
        if (req.method === 'GET' && url.pathname === '/readyz')
          return readiness.ready ? sendJson(res, 200, { ready: true }) : sendJson(res, 503, { ready: false, code: 'not_ready', message: readiness.reason })
        if (req.method === 'GET' && url.pathname === '/v1/info') return sendJson(res, 200, info())
        if (req.method === 'POST' && url.pathname === '/v1/run') return await handleRun(req, res, url)
        if (req.method === 'POST' && url.pathname === '/v1/detect') return await handleDetect(req, res, url)
        sendJson(res, 404, { code: 'bad_request', message: `No route ${req.method} ${url.pathname}` })
      } catch (error) {
        const failure = toFailure(error)
        if (failure.code === 'internal') logger.error({ err: error }, 'request failed')
        if (!res.headersSent) sendJson(res, HTTP_STATUS[failure.code], failure)
        else res.end()
      }
    },
  )
  server.maxConnections = http.maxConnections
  return { server, prepare, info }
}

function toFailure(error: unknown): { code: ServiceErrorCode; message: string } {
  if (error instanceof InferenceError) return { code: error.code, message: error.message }
  return { code: 'internal', message: 'The model failed on this image; the error was logged.' }
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** The image, and for models that take one a mask, from a raw body or a multipart form (`image`, `mask`). */
async function readRunBody(req: IncomingMessage, maxBytes: number): Promise<{ image: Uint8Array; mask: Uint8Array | null }> {
  const contentType = req.headers['content-type'] ?? ''
  // A mask is at most the image's size again, so a multipart body may be twice the image limit.
  if (!contentType.startsWith('multipart/form-data')) return { image: await readBody(req, maxBytes), mask: null }
  const body = await readBody(req, 2 * maxBytes)
  let form: FormData
  try {
    form = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { 'content-type': contentType } }).formData()
  } catch {
    throw new InferenceError('bad_request', 'The multipart body could not be read.')
  }
  const image = form.get('image')
  const mask = form.get('mask')
  if (!(image instanceof Blob)) throw new InferenceError('bad_request', 'The multipart body has no `image` file.')
  if (image.size > maxBytes) throw new InferenceError('too_large', `The image is ${image.size} bytes; the limit is ${maxBytes}.`)
  return { image: new Uint8Array(await image.arrayBuffer()), mask: mask instanceof Blob ? new Uint8Array(await mask.arrayBuffer()) : null }
}

/** A user-painted mask as one channel of 0/255 the size of the image (white or opaque paint = remove). */
async function decodeMask(bytes: Uint8Array, width: number, height: number): Promise<Pixels> {
  try {
    const { data } = await sharp(bytes, { limitInputPixels: width * height * 4 + 1 })
      .flatten({ background: '#000000' })
      .greyscale()
      .resize(width, height, { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer({ resolveWithObject: true })
    return { width, height, channels: 1, data: Uint8Array.from(data, (v) => (v > 127 ? 255 : 0)) }
  } catch {
    throw new InferenceError('bad_image', 'The mask is not an image we can read (a PNG, white where text should go).')
  }
}

/** Reads the request body, refusing more than `maxBytes` without buffering it. */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'])
  if (declared > maxBytes) throw new InferenceError('too_large', `The upload is ${declared} bytes; the limit is ${maxBytes}.`)
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > maxBytes) throw new InferenceError('too_large', `The upload is over the limit of ${maxBytes} bytes.`)
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof InferenceError) throw error
    // The client went away, or took longer than the request timeout (Node has answered 408).
    throw new InferenceError('bad_request', `The upload was cut off after ${size} bytes.`)
  }
  return Buffer.concat(chunks)
}
