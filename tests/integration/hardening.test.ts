import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TRPCError } from '@trpc/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNitroRoutes } from '../helpers/nitro-server'
import { createJobFormData, type StepInput } from '../../contracts/api'
import { freePort } from '../../scripts/lib/local-stack'
import type { App } from '../../server/app'
import { clientAddress } from '../../server/http/client-address'
import type { InProcessQueue } from '../../server/jobs/queue'
import { stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'
import { fixture } from '../helpers/images'

/**
 * Regression tests of the hardening issue's findings 1, 4 and 5 (the orchestrator's side):
 * password guessing past the limit, a busy or restarting service failing jobs, and step specs,
 * batches and schema errors the API took as they came.
 */
let server: Server
let base: string
const servers: Server[] = []

beforeAll(async () => {
  ;({ server, base } = await startNitroRoutes())
})
afterAll(async () => {
  for (const s of [server, ...servers]) s?.closeAllConnections()
  await Promise.all([server, ...servers].map((s) => new Promise((resolve) => s?.close(resolve))))
})

const json = { 'content-type': 'application/json' }
const newEmail = () => `guess-${randomUUID().slice(0, 8)}@example.com`

async function signUp(email = newEmail(), password = 'the-right-password') {
  const response = await fetch(`${base}/api/trpc/auth.signUp`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })
  expect(response.status).toBe(200)
  return {
    email,
    password,
    cookie: response.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; '),
  }
}

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TRPCError)
  return error as TRPCError
}

describe('password guessing', () => {
  it('a batch of 200 sign-ins in one request is refused whole: no session comes back', async () => {
    const { email, password } = await signUp()
    const calls = Array.from({ length: 200 }, (_, i) => ({ email, password: i === 199 ? password : `wrong-password-${i}` }))
    const body = Object.fromEntries(calls.map((c, i) => [String(i), c]))
    const response = await fetch(`${base}/api/trpc/${calls.map(() => 'auth.signIn').join(',')}?batch=1`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    })
    expect(response.status).toBe(400)
    expect(response.headers.getSetCookie()).toEqual([])
    expect(await response.text()).toMatch(/cannot be batched/)
  })

  it('sign-ins sent at once count before any answer is known: the right password after 19 wrong ones is refused', async () => {
    const app = createTestApp()
    const { email, password } = await signUp()
    const attempts = Array.from({ length: 20 }, (_, i) =>
      callerFor(app)
        .caller.auth.signIn({ email, password: i === 19 ? password : `wrong-password-${i}` })
        .then(
          () => 'ok',
          (e: TRPCError) => e.code,
        ),
    )
    const outcomes = await Promise.all(attempts)
    expect(outcomes.filter((o) => o === 'UNAUTHORIZED').length).toBeLessThanOrEqual(10)
    expect(outcomes.at(-1)).toBe('TOO_MANY_REQUESTS')
  })

  it('a forged X-Forwarded-For does not make a new client: 40 wrong passwords from rotating addresses get 429', async () => {
    const { email } = await signUp()
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${base}/api/trpc/auth.signIn`, {
        method: 'POST',
        headers: { ...json, 'x-forwarded-for': `10.9.0.${i}` },
        body: JSON.stringify({ email, password: `wrong-password-${i}` }),
      })
      statuses.push(response.status)
      await response.arrayBuffer()
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true)
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true)
  })

  it('one address guessing across many accounts is limited too, and a correct sign-in costs nothing', async () => {
    const app = createTestApp()
    const known = await signUp()
    // Correct sign-ins release their hit: 40 of them never reach the limit.
    for (let i = 0; i < 40; i++) await callerFor(app).caller.auth.signIn({ email: known.email, password: known.password })
    const codes: string[] = []
    for (let i = 0; i < 35; i++)
      codes.push(
        await callerFor(app)
          .caller.auth.signIn({ email: newEmail(), password: 'wrong-password' })
          .then(
            () => 'ok',
            (e: TRPCError) => e.code,
          ),
      )
    expect(codes.slice(0, 30).every((c) => c === 'UNAUTHORIZED')).toBe(true)
    expect(codes.slice(30).every((c) => c === 'TOO_MANY_REQUESTS')).toBe(true)
  })

  it('reads the client address from the trusted proxy hop only', () => {
    expect(clientAddress('6.6.6.6', '127.0.0.1', 0)).toBe('127.0.0.1')
    // CloudFront appends the viewer, the load balancer appends CloudFront: 2 trusted hops.
    expect(clientAddress('6.6.6.6, 7.7.7.7, 203.0.113.9, 130.176.1.1', '10.0.1.5', 2)).toBe('203.0.113.9')
    expect(clientAddress('203.0.113.9', '10.0.1.5', 1)).toBe('203.0.113.9')
    expect(clientAddress('', '10.0.1.5', 2)).toBe('10.0.1.5')
  })
})

describe('what the API accepts', () => {
  it('batches at most 10 queries per request', async () => {
    const { cookie } = await signUp()
    const batch = (n: number) =>
      fetch(`${base}/api/trpc/${Array(n).fill('auth.me').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify({}))}`, { headers: { cookie } })
    expect((await batch(10)).status).toBe(200)
    expect((await batch(11)).status).toBe(400)
  })

  it('says in one sentence why a 6-step pipeline is refused, not in raw schema JSON', async () => {
    const { cookie } = await signUp()
    const step = { task: 'upscale', model: 'esrgan-slim', scale: 2 } as const
    const form = createJobFormData({ image: new File([await readFile(fixture('chelsea.png'))], 'chelsea.png'), steps: Array(6).fill(step) })
    const response = await fetch(`${base}/api/trpc/jobs.create`, { method: 'POST', headers: { cookie }, body: form })
    expect(response.status).toBe(400)
    const { error } = await response.json()
    expect(error.message).toBe('A pipeline has at most 5 steps.')
  })

  it('refuses steps no model supports when the job is created, and stores nothing', async () => {
    const app = createTestApp()
    const { caller } = callerFor(app)
    const { email, password } = await signUp()
    await caller.auth.signIn({ email, password })
    const image = new File([await readFile(fixture('chelsea.png'))], 'chelsea.png')
    const cases: [StepInput, RegExp][] = [
      [{ task: 'denoise', model: 'maxim-denoising', scale: 8 }, /runs at x1, not x8/],
      [{ task: 'upscale', model: 'esrgan-thick', scale: 8 }, /x2, x3, x4, not x8/],
      [{ task: 'upscale', model: 'esrgan-slim', scale: 1 }, /not x1/],
      [{ task: 'upscale', model: 'esrgan-slim', scale: 5 }, /not x5/],
      [{ task: 'upscale', model: 'no-such-model', scale: 2 }, /Upscale has no model 'no-such-model'; choose one of realesrgan-general-x4, /],
      [{ task: 'upscale', model: 'maxim-denoising', scale: 1 }, /Upscale has no model 'maxim-denoising'/],
      // Options are the model's own: checked against the schema its service declares.
      [{ task: 'upscale', model: 'esrgan-slim', options: { scale: 3, strength: 1 } }, /ESRGAN fast has no option 'strength'; it takes 'scale'/],
      [{ task: 'denoise', model: 'maxim-denoising', options: { maskMode: 'user' } }, /MAXIM denoising has no option 'maskMode'; it takes none/],
      [
        { task: 'remove-text', model: 'text-removal', options: { maskMode: 'everything' } },
        /Remove text: maskMode is one of 'detected', 'user', 'both', not "everything"/,
      ],
    ]
    for (const [step, message] of cases) {
      const refused = await rejection(caller.jobs.create(createJobFormData({ image, steps: [step] })))
      expect(refused.code).toBe('BAD_REQUEST')
      expect(refused.message).toMatch(message)
    }
    const second = await rejection(
      caller.jobs.create(
        createJobFormData({
          image,
          steps: [
            { task: 'upscale', model: 'esrgan-slim', scale: 2 },
            { task: 'upscale', model: 'esrgan-slim', scale: 7 },
          ],
        }),
      ),
    )
    expect(second.message).toMatch(/^Step 2: /)
    expect((await caller.jobs.list({})).items).toEqual([])
  })
})

/** A stand-in replica in front of the real upscale service: answers as `plan` says, else forwards. */
async function replicaInFront(plan: (index: number) => 'busy' | 'not_ready' | 'forward', port = 0) {
  const target = stackEnv().UPSCALE_SERVICE_URLS!
  let index = 0
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET')
      return void fetch(new URL(req.url!, target)).then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()))
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const answer = plan(index++)
    if (answer !== 'forward') {
      const message = answer === 'busy' ? 'The upscale service is busy; retry in a few seconds.' : 'The upscale service is still loading its models.'
      return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: answer, message }))
    }
    const upstream = await fetch(new URL(req.url!, target), {
      method: 'POST',
      headers: { authorization: req.headers.authorization!, 'content-type': req.headers['content-type']! },
      body: Buffer.concat(chunks),
    })
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type')! })
    res.end(Buffer.from(await upstream.arrayBuffer()))
  })
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function runOne(app: App) {
  const { caller } = callerFor(app)
  const { email, password } = await signUp()
  await caller.auth.signIn({ email, password })
  const job = await caller.jobs.create(
    createJobFormData({
      image: new File([await readFile(fixture('chelsea.png'))], 'chelsea.png'),
      steps: [{ task: 'upscale', model: 'esrgan-slim', scale: 2 }],
    }),
  )
  await (app.queue as InProcessQueue).idle()
  return caller.jobs.get({ id: job.id })
}

describe('a busy or restarting service delays a job instead of failing it', () => {
  it('busy for 4 s (a flood of other work): the job waits and succeeds', { timeout: 60_000 }, async () => {
    const start = Date.now()
    const url = await replicaInFront(() => (Date.now() - start < 4000 ? 'busy' : 'forward'))
    const job = await runOne(createTestApp({ UPSCALE_SERVICE_URLS: url }))
    expect(job).toMatchObject({ status: 'succeeded', output: { width: 902, height: 600 } })
    expect(job.attempts).toBeGreaterThan(3)
  })

  it('still loading its models for 4 s (resumed after a restart): the job waits and succeeds', { timeout: 60_000 }, async () => {
    const start = Date.now()
    const url = await replicaInFront(() => (Date.now() - start < 4000 ? 'not_ready' : 'forward'))
    expect(await runOne(createTestApp({ UPSCALE_SERVICE_URLS: url }))).toMatchObject({ status: 'succeeded' })
  })

  it('refusing connections while it restarts: the job waits for it to listen again', { timeout: 60_000 }, async () => {
    const port = await freePort()
    setTimeout(() => void replicaInFront(() => 'forward', port), 3000)
    expect(await runOne(createTestApp({ UPSCALE_SERVICE_URLS: `http://127.0.0.1:${port}` }))).toMatchObject({ status: 'succeeded' })
  })

  it('busy for longer than STEP_RETRY_WINDOW_MS: the job fails, saying how long it waited', { timeout: 60_000 }, async () => {
    const url = await replicaInFront(() => 'busy')
    const job = await runOne(createTestApp({ UPSCALE_SERVICE_URLS: url, STEP_RETRY_WINDOW_MS: '2000' }))
    expect(job).toMatchObject({ status: 'failed', error: { code: 'busy', message: expect.stringMatching(/still unavailable after 2 seconds of waiting/) } })
  })
})

const DETECTOR_INFO = {
  service: 'remove-text',
  version: 'test',
  models: [
    {
      id: 'text-removal',
      task: 'remove-text',
      title: 'Remove text',
      description: 'stand-in',
      capabilities: { scales: [1], mask: true, detect: true },
      options: { type: 'object', properties: {} },
    },
  ],
  limits: { maxInputBytes: 26_214_400, maxInputPixels: 16_000_000, maxOutputPixels: 64_000_000 },
}

/** A remove-text stand-in that answers detections slowly and counts how many it holds at once. */
async function countingDetector() {
  let inFlight = 0
  const counts = { peak: 0, total: 0 }
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    // The orchestrator finds a model that detects through the catalogue, as with a real service.
    if (req.url === '/v1/info') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(DETECTOR_INFO))
    inFlight++
    counts.total++
    counts.peak = Math.max(counts.peak, inFlight)
    await new Promise((r) => setTimeout(r, 300))
    inFlight--
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ width: 451, height: 300, boxes: [], mask: 'data:image/png;base64,' }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  servers.push(server)
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, counts }
}

describe('text.detect', () => {
  it('is limited per user per minute', async () => {
    const { url } = await countingDetector()
    const app = createTestApp({ REMOVE_TEXT_SERVICE_URLS: url, MAX_DETECTS_PER_MINUTE_PER_USER: '3' })
    const { caller } = callerFor(app)
    const { email, password } = await signUp()
    await caller.auth.signIn({ email, password })
    const form = async () => {
      const f = new FormData()
      f.set('image', new File([await readFile(fixture('chelsea.png'))], 'chelsea.png'))
      return f
    }
    for (let i = 0; i < 3; i++) await caller.text.detect(await form())
    const limited = await rejection(caller.text.detect(await form()))
    expect(limited.code).toBe('TOO_MANY_REQUESTS')
  })

  it('goes through the same per-service slots as jobs: a flood never holds more than 2 per replica at the service', async () => {
    const { url, counts } = await countingDetector()
    const app = createTestApp({ REMOVE_TEXT_SERVICE_URLS: url, MAX_DETECTS_PER_MINUTE_PER_USER: '100' })
    const { caller } = callerFor(app)
    const { email, password } = await signUp()
    await caller.auth.signIn({ email, password })
    const bytes = await readFile(fixture('chelsea.png'))
    await Promise.all(
      Array.from({ length: 8 }, () => {
        const f = new FormData()
        f.set('image', new File([bytes], 'chelsea.png'))
        return caller.text.detect(f)
      }),
    )
    expect(counts.total).toBe(8)
    expect(counts.peak).toBeLessThanOrEqual(2)
  })
})
