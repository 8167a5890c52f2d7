import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { TRPCError } from '@trpc/server'
import pino from 'pino'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobFormData } from '../../contracts/api'
import { readRunStream } from '../../contracts/run-stream'
import type { RunEvent } from '../../contracts/service'
import { DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MIN_INPUT_SIDE, limitsFromEnv, modelSizeProblem } from '../../lib/limits'
import type { ModelAdapter } from '../../inference/models/adapter'
import { createInferenceService, type InferenceServiceOptions } from '../../inference/service/http-server'
import { httpOptionsFromEnv } from '../../inference/service/start'
import { signInDirect, stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'
import { blackGreyPng } from '../helpers/png'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { z } from 'zod'

/** A complete, valid 1x16,000,000 PNG (31 kB): exactly at the 16 MP limit, and 125,000 ESRGAN tiles at x2 if nothing stops it. */
const needle = () => blackGreyPng(1, 16_000_000)

describe('image shape limits (aspect ratio, smallest side)', () => {
  const esrgan = { title: 'ESRGAN balanced' }

  it('refuses very thin and very small images with a message naming the model and the size, and lets a model set its own limits', () => {
    expect(modelSizeProblem(esrgan, 1, 16_000_000)).toMatch(/ESRGAN balanced.*1x16000000/)
    expect(modelSizeProblem(esrgan, 16_000_000, 1)).toMatch(/ESRGAN balanced.*16000000x1/)
    expect(modelSizeProblem(esrgan, 4, 300)).toMatch(/ESRGAN balanced.*4x300/)
    expect(modelSizeProblem(esrgan, DEFAULT_MIN_INPUT_SIDE - 1, 64)).toMatch(/at least/)
    expect(modelSizeProblem(esrgan, DEFAULT_MIN_INPUT_SIDE, DEFAULT_MIN_INPUT_SIDE)).toBeNull()
    expect(modelSizeProblem(esrgan, 100, 100 * DEFAULT_MAX_ASPECT_RATIO)).toBeNull()
    expect(modelSizeProblem(esrgan, 100, 100 * DEFAULT_MAX_ASPECT_RATIO + 1)).toMatch(/100x2001/)
    expect(modelSizeProblem(esrgan, 451, 300)).toBeNull()
    // Per model: a panorama model may take 50:1, a model with a 64 px receptive field may want 64 px.
    expect(modelSizeProblem({ ...esrgan, maxAspectRatio: 50 }, 100, 4000)).toBeNull()
    expect(modelSizeProblem({ ...esrgan, minInputSide: 64 }, 48, 32)).toMatch(/at least 64 px/)
    // The pixel limit still comes first.
    expect(modelSizeProblem({ ...esrgan, maxInputPixels: 1000 }, 100, 100)).toMatch(/0\.0 MP|up to/)
  })

  it('the upscale service refuses a 1x16,000,000 PNG before decoding it, in seconds, not the minutes a decode and run would take', async () => {
    const { accessToken } = await signInDirect()
    const body = needle()
    const abort = new AbortController()
    const started = performance.now()
    try {
      const response = await fetch(`${stackEnv().UPSCALE_SERVICE_URLS}/v1/run?model=esrgan-slim&options=%7B%22scale%22%3A2%7D`, {
        method: 'POST',
        body: body as Uint8Array<ArrayBuffer>,
        headers: { authorization: `Bearer ${accessToken}` },
        signal: abort.signal,
      })
      const elapsed = performance.now() - started
      const text = response.status === 200 ? '(a run stream)' : await response.text()
      console.info(`1x16000000 PNG: HTTP ${response.status} after ${elapsed.toFixed(0)} ms: ${text}`)
      expect(response.status).toBe(413)
      expect(JSON.parse(text)).toMatchObject({ code: 'too_large', message: expect.stringMatching(/ESRGAN fast.*1x16000000/) })
      // Decoding it and running x2 would take minutes; the refusal waits at most for sharp's thread pool, which earlier
      // tests' images may still occupy on a loaded CI host (6.4 s once, while other lanes ran their models beside it).
      expect(elapsed).toBeLessThan(10_000)
    } finally {
      abort.abort() // before the fix the run streams for minutes; disconnecting stops it
    }
    // A small image but too small to be a photo: refused the same way.
    const tiny = await sharp({ create: { width: 4, height: 300, channels: 3, background: '#808080' } })
      .png()
      .toBuffer()
    const small = await fetch(`${stackEnv().UPSCALE_SERVICE_URLS}/v1/run?model=esrgan-slim&options=%7B%22scale%22%3A2%7D`, {
      method: 'POST',
      body: tiny,
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(small.status).toBe(413)
    expect((await small.json()).message).toMatch(/ESRGAN fast.*4x300/)
  })

  it('jobs.create refuses the 1x16,000,000 PNG with the same message, before queueing anything', async () => {
    const app = createTestApp()
    const { caller } = callerFor(app)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const image = new File([needle() as Uint8Array<ArrayBuffer>], 'needle.png', { type: 'image/png' })
    const outcome = await caller.jobs.create(createJobFormData({ image, steps: [{ task: 'upscale', model: 'esrgan-medium', scale: 2 }] })).then(
      (job) => job,
      (error: unknown) => error,
    )
    if (!(outcome instanceof TRPCError)) await caller.jobs.cancel({ id: (outcome as { id: string }).id }) // before the fix: queued for 150 s of service time
    expect(outcome).toBeInstanceOf(TRPCError)
    expect(['PAYLOAD_TOO_LARGE', 'BAD_REQUEST']).toContain((outcome as TRPCError).code)
    expect((outcome as TRPCError).message).toMatch(/ESRGAN balanced.*1x16000000/)
  })
})

/**
 * Transport-level tests: a service created in-process around a stand-in adapter (no model: it
 * returns its input after sleeping, reporting progress), so that timings are the server's only.
 */
const standIn = (runMs: number): ModelAdapter => ({
  info: {
    id: 'stand-in',
    task: 'upscale',
    title: 'Stand-in (sleeps, then echoes)',
    description: 'test stand-in, not a model',
    capabilities: { scales: [1], mask: false, detect: false },
  },
  options: z.strictObject({}),
  sources: [],
  async load() {},
  async process(image, _options, context) {
    const steps = 10
    for (let done = 1; done <= steps; done++) {
      await new Promise((resolve) => setTimeout(resolve, runMs / steps))
      if (context.signal.aborted) throw new Error('aborted')
      context.onProgress(done, steps)
    }
    return image
  },
})

async function startInProcess(http: InferenceServiceOptions['http'], runMs = 2500) {
  const service = createInferenceService({
    name: 'hardening-test',
    version: 'test',
    adapters: [standIn(runMs)],
    limits: limitsFromEnv({}),
    verifyToken: async () => ({ sub: 'test', username: 'test' }),
    maxConcurrentRuns: 4,
    maxQueuedRuns: 4,
    logger: pino({ level: 'silent' }),
    http,
  })
  await service.prepare()
  await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve))
  const port = (service.server.address() as AddressInfo).port
  return {
    service,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        service.server.closeAllConnections()
        service.server.close(() => resolve())
      }),
  }
}

/** Opens a raw socket that behaves as `drip` says and resolves with when (ms after `t0`) the server closed it, or null at `deadlineMs`. */
function slowClient(port: number, t0: number, deadlineMs: number, drip: (socket: Socket) => void) {
  return new Promise<{ closedAt: number | null; reply: string }>((resolve) => {
    let reply = ''
    const socket = connect(port, '127.0.0.1', () => drip(socket))
    socket.on('data', (d) => (reply += d.toString()))
    socket.on('error', () => {})
    const deadline = setTimeout(() => {
      socket.removeAllListeners('close')
      socket.destroy()
      resolve({ closedAt: null, reply })
    }, deadlineMs)
    socket.on('close', () => {
      clearTimeout(deadline)
      resolve({ closedAt: performance.now() - t0, reply })
    })
  })
}

/** Writes `first`, then one more byte of `rest` every `everyMs` while the socket lasts (slowloris). */
const dripping =
  (first: string, rest = 'X-Slow: yes\r\n', everyMs = 200) =>
  (socket: Socket) => {
    socket.write(first)
    let i = 0
    const timer = setInterval(() => (socket.writable ? socket.write(rest[i++ % rest.length]!) : clearInterval(timer)), everyMs)
    socket.on('close', () => clearInterval(timer))
  }

describe('service HTTP timeouts and connection cap', () => {
  const http = { headersTimeoutMs: 1000, requestTimeoutMs: 1500, keepAliveTimeoutMs: 1000, connectionsCheckingIntervalMs: 100, maxConnections: 1000 }
  let server: Awaited<ReturnType<typeof startInProcess>>
  beforeAll(async () => {
    server = await startInProcess(http)
  })
  afterAll(() => server?.close())

  it('closes slow-header, silent and slow-body connections within the configured timeouts', { timeout: 15_000 }, async () => {
    const t0 = performance.now()
    const deadline = 4000
    const clients = [
      ...Array.from({ length: 40 }, () => slowClient(server.port, t0, deadline, dripping('GET /v1/info HTTP/1.1\r\nHost: x\r\n'))),
      ...Array.from({ length: 5 }, () => slowClient(server.port, t0, deadline, dripping('POST /v1/run?model=', 'a'))),
      ...Array.from({ length: 5 }, () => slowClient(server.port, t0, deadline, () => {})),
    ]
    const slowBody = Array.from({ length: 5 }, () =>
      slowClient(
        server.port,
        t0,
        deadline,
        dripping(
          'POST /v1/run?model=stand-in&options=%7B%22scale%22%3A1%7D HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n',
          '\0',
        ),
      ),
    )
    const headers = await Promise.all(clients)
    const bodies = await Promise.all(slowBody)
    const lived = (r: { closedAt: number | null }[]) => r.map((c) => (c.closedAt === null ? `>${deadline}` : c.closedAt.toFixed(0)))
    console.info(`slow headers lived (ms): ${lived(headers).join(' ')}; slow bodies lived (ms): ${lived(bodies).join(' ')}`)
    for (const client of headers) {
      expect(client.closedAt).not.toBeNull()
      expect(client.closedAt!).toBeLessThan(http.headersTimeoutMs + 1000)
      expect(client.reply).toMatch(/^HTTP\/1\.1 408/)
    }
    for (const client of bodies) {
      expect(client.closedAt).not.toBeNull()
      expect(client.closedAt!).toBeGreaterThan(http.requestTimeoutMs - 200)
      expect(client.closedAt!).toBeLessThan(http.requestTimeoutMs + 1000)
    }
  })

  it('does not cut a streamed run that lasts longer than the request timeout', { timeout: 15_000 }, async () => {
    const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#3a6' } })
      .png()
      .toBuffer()
    const started = performance.now()
    const response = await fetch(`http://127.0.0.1:${server.port}/v1/run?model=stand-in&options=%7B%22scale%22%3A1%7D`, {
      method: 'POST',
      body: png,
      headers: { authorization: 'Bearer t' },
    })
    expect(response.status).toBe(200)
    const events: RunEvent[] = []
    const result = await readRunStream(response.body!, (e) => events.push(e))
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThan(http.requestTimeoutMs + 500)
    expect(events.filter((e) => e.type === 'progress')).toHaveLength(10)
    expect(await sharp(result.bytes).metadata()).toMatchObject({ width: 32, height: 24 })
  })

  it('drops connections over the cap at once and serves again when they are gone', { timeout: 15_000 }, async () => {
    const capped = await startInProcess({ ...http, maxConnections: 8 })
    try {
      const t0 = performance.now()
      const held = Array.from({ length: 8 }, () => slowClient(capped.port, t0, 4000, () => {}))
      await new Promise((resolve) => setTimeout(resolve, 300))
      const extra = await Promise.all(Array.from({ length: 4 }, () => slowClient(capped.port, performance.now(), 4000, () => {})))
      console.info(`over the cap of 8, extra connections lived (ms): ${extra.map((c) => (c.closedAt === null ? '>4000' : c.closedAt.toFixed(0))).join(' ')}`)
      for (const client of extra) expect(client.closedAt).not.toBeNull()
      for (const client of extra) expect(client.closedAt!).toBeLessThan(500)
      await Promise.all(held)
      expect((await fetch(`http://127.0.0.1:${capped.port}/healthz`)).status).toBe(200)
    } finally {
      await capped.close()
    }
  })

  it('reads the timeouts and the cap from the environment, with defaults', () => {
    expect(httpOptionsFromEnv({})).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      connectionsCheckingIntervalMs: 1_000,
      maxConnections: 256,
    })
    expect(
      httpOptionsFromEnv({
        SERVICE_HEADERS_TIMEOUT_MS: '2000',
        SERVICE_REQUEST_TIMEOUT_MS: '3000',
        SERVICE_KEEP_ALIVE_TIMEOUT_MS: '1500',
        SERVICE_CONNECTIONS_CHECK_MS: '250',
        SERVICE_MAX_CONNECTIONS: '32',
      }),
    ).toEqual({ headersTimeoutMs: 2000, requestTimeoutMs: 3000, keepAliveTimeoutMs: 1500, connectionsCheckingIntervalMs: 250, maxConnections: 32 })
  })
})
