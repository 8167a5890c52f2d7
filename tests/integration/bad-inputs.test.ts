import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { TRPCError } from '@trpc/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobFormData } from '../../contracts/api'
import { readRunStream } from '../../contracts/run-stream'
import { createAccessTokenVerifier } from '../../lib/auth/access-token'
import { limitsFromEnv } from '../../lib/limits'
import { createLogger } from '../../lib/log'
import { esrganMedium } from '../../inference/models/esrgan'
import { createInferenceService } from '../../inference/service/http-server'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import type { InProcessQueue } from '../../server/jobs/queue'
import { signInDirect, stackEnv } from '../helpers/auth'
import { BAD_INPUTS } from '../helpers/bad-inputs'
import { callerFor, createTestApp } from '../helpers/caller'
import { pngSize } from '../helpers/images'

/** The upscale service in this process (so its code counts in coverage), with the real model and real tokens. */
let serviceUrl: string
let close: () => Promise<void>
beforeAll(async () => {
  const env = stackEnv()
  const service = createInferenceService({
    name: 'upscale',
    version: 'test',
    adapters: [esrganMedium],
    limits: limitsFromEnv({}),
    verifyToken: createAccessTokenVerifier({ issuer: env.COGNITO_ISSUER!, clientId: env.COGNITO_CLIENT_ID! }),
    maxConcurrentRuns: 1,
    maxQueuedRuns: 4,
    logger: createLogger('upscale-test'),
  })
  service.server.listen(0, '127.0.0.1')
  await once(service.server, 'listening')
  await service.prepare()
  serviceUrl = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`
  close = () => new Promise((resolve) => service.server.close(() => resolve()))
}, 120_000)
afterAll(() => close?.())

describe.each(BAD_INPUTS)('$name', (input) => {
  it(input.expect === 'reject' ? 'is refused by the service with a clear 4xx' : 'is processed by the service', { timeout: 60_000 }, async () => {
    const { accessToken } = await signInDirect()
    const response = await fetch(`${serviceUrl}/v1/run?model=esrgan-medium&options=%7B%22scale%22%3A2%7D`, {
      method: 'POST',
      body: (await input.bytes()) as Uint8Array<ArrayBuffer>,
      headers: { authorization: `Bearer ${accessToken}` },
    })
    if (input.expect === 'reject') {
      expect(response.status).toBeGreaterThanOrEqual(400)
      expect(response.status).toBeLessThan(500)
      expect((await response.json()).message).toMatch(input.message!)
    } else {
      expect(response.status).toBe(200)
      const result = await readRunStream(response.body!, () => {})
      expect(await pngSize(result.bytes)).toMatchObject({ format: 'png', width: input.size![0], height: input.size![1] })
    }
    expect((await fetch(`${serviceUrl}/healthz`)).ok).toBe(true)
  })

  it(input.expect === 'reject' ? 'is refused at upload by the API with the same message' : 'becomes a job that succeeds', { timeout: 60_000 }, async () => {
    const { caller } = callerFor(app)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const form = createJobFormData({
      image: new File([(await input.bytes()) as Uint8Array<ArrayBuffer>], input.fileName),
      steps: [{ task: 'upscale', model: 'esrgan-medium', scale: 2 }],
    })
    const outcome = await caller.jobs.create(form).then(
      (job) => job,
      (error: unknown) => error,
    )
    if (input.expect === 'reject') {
      expect(outcome).toBeInstanceOf(TRPCError)
      expect(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE']).toContain((outcome as TRPCError).code)
      expect((outcome as TRPCError).message).toMatch(input.message!)
    } else {
      const job = outcome as Awaited<ReturnType<typeof caller.jobs.create>>
      expect(job.inputName).toBe(input.fileName)
      await (app.queue as InProcessQueue).idle()
      expect(await caller.jobs.get({ id: job.id })).toMatchObject({ status: 'succeeded', output: { width: input.size![0], height: input.size![1] } })
    }
  })
})

const app = createTestApp()

describe('oversized requests', () => {
  it('a 200 MB upload is refused by size before it is decoded', async () => {
    const { caller } = callerFor(app)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const huge = new File([new Uint8Array(200 * 1024 * 1024)], 'huge.png')
    const error = await caller.jobs
      .create(createJobFormData({ image: huge, steps: [{ task: 'upscale', model: 'esrgan-medium', scale: 2 }] }))
      .catch((e: TRPCError) => e)
    expect((error as TRPCError).code).toBe('PAYLOAD_TOO_LARGE')
    expect((error as TRPCError).message).toMatch(/200\.0 MB; the limit is 25 MB/)
  })

  it('the service refuses a body over its byte limit from Content-Length alone', async () => {
    const { accessToken } = await signInDirect()
    const response = await fetch(`${serviceUrl}/v1/run?model=esrgan-medium&options=%7B%22scale%22%3A2%7D`, {
      method: 'POST',
      body: new Uint8Array(30 * 1024 * 1024),
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(response.status).toBe(413)
  })

  it('an oversized steps field is refused', async () => {
    const { caller } = callerFor(app)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const form = createJobFormData({ image: new File([new Uint8Array(10)], 'x.png'), steps: [{ task: 'upscale', model: 'esrgan-medium', scale: 2 }] })
    form.set('steps', JSON.stringify([{ task: 'upscale', model: 'esrgan-medium', scale: 2, padding: 'x'.repeat(20_000) }]))
    const error = await caller.jobs.create(form).catch((e: TRPCError) => e)
    expect((error as TRPCError).code).toBe('BAD_REQUEST')
  })
})
