import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobFormData } from '../../contracts/api'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import type { App } from '../../server/app'
import type { InProcessQueue } from '../../server/jobs/queue'
import { LocalFolderStore } from '../../server/storage/local-folder-store'
import { stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'
import { fixture } from '../helpers/images'

/** Misbehaving "services" on loopback: one never answers, one answers garbage. */
const servers: Server[] = []
async function fakeService(handler: (res: import('node:http').ServerResponse) => void) {
  const server = createServer((req, res) => {
    if (req.url === '/readyz' || req.url === '/healthz') return void res.end('{}')
    req.resume()
    handler(res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
let hanging: string
let garbage: string
beforeAll(async () => {
  hanging = await fakeService(() => {}) // accepts, then says nothing, ever
  garbage = await fakeService((res) =>
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from('\u0000\u00ff not a run stream \u0007\n', 'latin1')),
  )
})
afterAll(() => {
  for (const server of servers) server.closeAllConnections()
  return Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

async function runOne(app: App) {
  const { caller } = callerFor(app)
  await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
  const job = await caller.jobs.create(
    createJobFormData({
      image: new File([await readFile(fixture('chelsea.png'))], 'chelsea.png'),
      steps: [{ task: 'upscale', model: 'esrgan-slim', scale: 2 }],
    }),
  )
  await (app.queue as InProcessQueue).idle()
  return caller.jobs.get({ id: job.id })
}

describe('a misbehaving service replica', () => {
  it('that hangs is abandoned after the idle timeout and the job is retried on a healthy replica', { timeout: 60_000 }, async () => {
    const app = createTestApp({ UPSCALE_SERVICE_URLS: `${hanging},${stackEnv().UPSCALE_SERVICE_URLS}`, STEP_IDLE_TIMEOUT_MS: '1500' })
    const job = await runOne(app)
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2, output: { width: 902, height: 600 } })
  })

  it('that hangs, with no other replica, fails the job with a clear reason instead of running forever', { timeout: 60_000 }, async () => {
    const app = createTestApp({ UPSCALE_SERVICE_URLS: hanging, STEP_IDLE_TIMEOUT_MS: '800', MAX_JOB_ATTEMPTS: '2' })
    const job = await runOne(app)
    expect(job).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'service_unavailable', message: 'The upscale service stopped answering.' } })
  })

  it('that answers garbage is treated as broken and the job is retried elsewhere', { timeout: 60_000 }, async () => {
    const app = createTestApp({ UPSCALE_SERVICE_URLS: `${garbage},${stackEnv().UPSCALE_SERVICE_URLS}` })
    const job = await runOne(app)
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 })
  })
})

/** A real folder store whose writes of results fail as configured (disk full, a transient error). */
class FailingStore extends LocalFolderStore {
  failures = 0
  constructor(
    dir: string,
    private readonly shouldFail: (key: string, attempt: number) => boolean,
  ) {
    super(dir)
  }
  override async put(key: string, data: Uint8Array, contentType: string) {
    if (key.includes('/step-') && this.shouldFail(key, ++this.failures)) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    return super.put(key, data, contentType)
  }
}

describe('storage faults', () => {
  it('a result write that fails once is retried and the job succeeds; nothing half-written is left', { timeout: 60_000 }, async () => {
    const dir = `${stackEnv().DATA_DIR}-flaky`
    const store = new FailingStore(dir, (_key, attempt) => attempt === 1)
    const app = createTestApp({ DATA_DIR: dir }, { store })
    const job = await runOne(app)
    expect(job.status).toBe('succeeded')
    expect(store.failures).toBe(2)
    const files = await store.list('users')
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('a full disk fails the job with a clear reason after a bounded number of tries', { timeout: 60_000 }, async () => {
    const dir = `${stackEnv().DATA_DIR}-full`
    const store = new FailingStore(dir, () => true)
    const app = createTestApp({ DATA_DIR: dir, MAX_JOB_ATTEMPTS: '2' }, { store })
    const job = await runOne(app)
    expect(job).toMatchObject({ status: 'failed', error: { code: 'internal', message: expect.stringMatching(/Storage is full or unavailable/) } })
    expect(store.failures).toBe(2)
  })
})

describe('a service that stops answering the catalogue', () => {
  it('keeps its task listed from what it last said, marked unavailable, instead of the task vanishing', { timeout: 60_000 }, async () => {
    // A stand-in for the upscale service that answers /v1/info with the real service's answer, then goes silent
    // (as one busy with a long tile run misses the 3 s deadline).
    const real = stackEnv().UPSCALE_SERVICE_URLS!.split(',')[0]!
    const info = await (await fetch(new URL('/v1/info', real))).text()
    let silent = false
    const url = await fakeService((res) => {
      if (!silent) res.writeHead(200, { 'content-type': 'application/json' }).end(info)
    })
    const app = createTestApp({ UPSCALE_SERVICE_URLS: url })
    const { caller } = callerFor(app)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const upscalers = async () => (await caller.models.list()).models.filter((m) => m.task === 'upscale').map((m) => [m.id, m.available])
    const first = await upscalers()
    expect(first.length).toBeGreaterThan(0)
    expect(first.every(([, available]) => available)).toBe(true)
    silent = true
    const later = await upscalers()
    expect(later).toEqual(first.map(([id]) => [id, false]))
    // The other tasks' services still answer for themselves.
    expect((await caller.models.list()).models.some((m) => m.task === 'denoise' && m.available)).toBe(true)
  })
})
