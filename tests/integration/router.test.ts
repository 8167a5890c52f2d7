import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { TRPCError } from '@trpc/server'
import { describe, expect, it } from 'vitest'
import { createJobFormData, type JobView } from '../../contracts/api'
import type { App } from '../../server/app'
import type { InProcessQueue } from '../../server/jobs/queue'
import { resultKey } from '../../server/jobs/repository'
import { DEMO_USER, LOCAL_CONFIRMATION_CODE } from '../../scripts/lib/local-stack'
import { callerFor, createTestApp } from '../helpers/caller'
import { forgedAccessToken } from '../helpers/auth'
import { fixture, pngSize } from '../helpers/images'

const app = createTestApp()
/** Waits until the in-process queue has nothing waiting or running. */
const idle = (a: App) => (a.queue as InProcessQueue).idle()

async function imageFile(name: string) {
  return new File([await readFile(fixture(name))], name, { type: name.endsWith('.jpg') ? 'image/jpeg' : 'image/png' })
}

async function signedIn(email = DEMO_USER.email, password = DEMO_USER.password) {
  const user = callerFor(app)
  await user.caller.auth.signIn({ email, password })
  return user
}

async function newUser() {
  const user = callerFor(app)
  const email = `user-${randomUUID().slice(0, 8)}@example.com`
  expect(await user.caller.auth.signUp({ email, password: 'a-long-password' })).toEqual({ signedIn: true, next: 'studio' })
  return { ...user, email }
}

const upscaleX4 = { task: 'upscale', model: 'esrgan-medium', scale: 4 } as const

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TRPCError)
  return error as TRPCError
}

describe('auth procedures against the Cognito emulator', () => {
  it('signs up (auto-confirmed locally), signs in, tells who is signed in, signs out', async () => {
    const { caller, session, email } = await newUser()
    expect(session.accessToken).toBeTruthy()
    expect((await caller.auth.me()).email).toBe(email)
    await caller.auth.signOut()
    expect(session.accessToken).toBeNull()
    expect((await rejection(caller.auth.me())).code).toBe('UNAUTHORIZED')
  })

  it('refuses a wrong password and a duplicate account with clear messages', async () => {
    const wrong = await rejection(callerFor(app).caller.auth.signIn({ email: DEMO_USER.email, password: 'not-the-password' }))
    expect(wrong.code).toBe('UNAUTHORIZED')
    expect(wrong.message).toBe('Wrong email or password.')
    const duplicate = await rejection(callerFor(app).caller.auth.signUp({ email: DEMO_USER.email, password: 'a-long-password' }))
    expect(duplicate.code).toBe('CONFLICT')
  })

  it('validates credentials with the shared schema', async () => {
    const error = await rejection(callerFor(app).caller.auth.signIn({ email: 'not-an-email', password: 'x' }))
    expect(error.code).toBe('BAD_REQUEST')
  })

  it('refreshes an expired or invalid access token from the refresh token', async () => {
    const { caller, session } = await signedIn()
    const refresh = session.refreshToken
    session.accessToken = await forgedAccessToken()
    expect((await caller.auth.me()).email).toBe(DEMO_USER.email)
    expect(session.accessToken).not.toBe(null)
    expect(session.refreshToken).toBe(refresh)
  })

  it('rejects a forged token when there is no refresh token', async () => {
    const { caller, session } = callerFor(app)
    session.accessToken = await forgedAccessToken()
    expect((await rejection(caller.jobs.list({}))).code).toBe('UNAUTHORIZED')
  })
})

describe('jobs: upload -> upscale service -> stored result', () => {
  it('lists the models the running services offer', async () => {
    const { caller } = await signedIn()
    const { models, limits } = await caller.models.list()
    expect(models.map((m) => [m.id, m.task, m.quality ?? null, m.madeFor ?? null, m.available])).toEqual([
      ['realesrgan-general-x4', 'upscale', 'balanced', 'photo', true],
      ['realesrgan-x4plus', 'upscale', 'best', 'photo', true],
      ['esrgan-slim', 'upscale', 'fast', 'clean', true],
      ['esrgan-medium', 'upscale', 'balanced', 'clean', true],
      ['esrgan-thick', 'upscale', 'best', 'clean', true],
      ['maxim-denoising', 'denoise', null, null, true],
      ...['deblurring', 'dehazing-outdoor', 'dehazing-indoor', 'enhancement', 'retouching'].map((m) => [`maxim-${m}`, 'enhance', null, null, true]),
      ['text-removal', 'remove-text', null, null, true],
    ])
    expect(models.find((m) => m.id === 'esrgan-thick')!.capabilities.scales).toEqual([2, 3, 4])
    expect(limits.maxInputBytes).toBeGreaterThan(0)
  })

  it('upscales chelsea.png x4 end to end and stores a PNG of 4x the size', { timeout: 120_000 }, async () => {
    const { caller } = await signedIn()
    const created = await caller.jobs.create(createJobFormData({ image: await imageFile('chelsea.png'), steps: [upscaleX4] }))
    expect(created.status).toBe('queued')
    expect(created.input).toMatchObject({ width: 451, height: 300, contentType: 'image/png' })
    await idle(app)
    const done: JobView = await caller.jobs.get({ id: created.id })
    expect(done.status).toBe('succeeded')
    expect(done.output).toMatchObject({ width: 1804, height: 1200, contentType: 'image/png' })
    expect(done.steps[0]!.progress!.done).toBe(done.steps[0]!.progress!.total)
    const me = await caller.auth.me()
    const stored = await app.store.get(resultKey({ ...done, ownerSub: me.sub }))
    expect(await pngSize(stored!.data)).toEqual({ format: 'png', width: 1804, height: 1200 })
    expect((await caller.jobs.list({})).items.map((j) => j.id)).toContain(created.id)
  })

  it('refuses a truncated JPEG at upload with a clear message', async () => {
    const { caller } = await signedIn()
    const error = await rejection(caller.jobs.create(createJobFormData({ image: await imageFile('truncated.jpg'), steps: [upscaleX4] })))
    expect(error.code).toBe('BAD_REQUEST')
    expect(error.message).toMatch(/damaged|not an image/i)
  })

  it('refuses a file that is not an image, and an empty one', async () => {
    const { caller } = await signedIn()
    const html = new File(['<html><script>alert(1)</script></html>'], 'photo.png', { type: 'image/png' })
    expect((await rejection(caller.jobs.create(createJobFormData({ image: html, steps: [upscaleX4] })))).code).toBe('BAD_REQUEST')
    const empty = new File([], 'empty.png', { type: 'image/png' })
    expect((await rejection(caller.jobs.create(createJobFormData({ image: empty, steps: [upscaleX4] })))).message).toMatch(/empty/)
  })

  it('refuses an upload over the byte limit before decoding it', async () => {
    const small = createTestApp({ MAX_INPUT_BYTES: '1000' })
    const { caller } = callerFor(small)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const error = await rejection(caller.jobs.create(createJobFormData({ image: await imageFile('chelsea.png'), steps: [upscaleX4] })))
    expect(error.code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('rejects a wrongly typed step', async () => {
    const { caller } = await signedIn()
    const form = createJobFormData({ image: await imageFile('chelsea.png'), steps: [upscaleX4] })
    form.set('steps', JSON.stringify([{ task: 'teleport', model: 'x', scale: 'big' }]))
    expect((await rejection(caller.jobs.create(form))).code).toBe('BAD_REQUEST')
  })

  it('refuses a model no service offers when the job is created, naming the ones there are', async () => {
    const { caller } = await signedIn()
    const refused = await rejection(
      caller.jobs.create(createJobFormData({ image: await imageFile('chelsea.png'), steps: [{ task: 'upscale', model: 'no-such-model', scale: 4 }] })),
    )
    expect(refused.code).toBe('BAD_REQUEST')
    expect(refused.message).toMatch(/^Upscale has no model 'no-such-model'; choose one of realesrgan-general-x4, realesrgan-x4plus, esrgan-slim, /)
  })

  it('fails a job with a clear reason when the service cannot be reached, after retrying', async () => {
    const down = createTestApp({ UPSCALE_SERVICE_URLS: 'http://127.0.0.1:9', MAX_JOB_ATTEMPTS: '2', STEP_RETRY_WINDOW_MS: '1500' })
    const { caller } = callerFor(down)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const created = await caller.jobs.create(createJobFormData({ image: await imageFile('chelsea.png'), steps: [upscaleX4] }))
    await idle(down)
    const job = await caller.jobs.get({ id: created.id })
    expect(job).toMatchObject({
      status: 'failed',
      error: { code: 'service_unavailable', message: expect.stringMatching(/could not be reached\. It was still unavailable after 2 seconds of waiting/) },
    })
    expect(job.attempts).toBeGreaterThanOrEqual(2)
  })

  it('keeps users apart: B cannot see, cancel or delete A’s job', async () => {
    const a = await newUser()
    const b = await newUser()
    const job = await a.caller.jobs.create(createJobFormData({ image: await imageFile('chelsea.png'), steps: [{ ...upscaleX4, scale: 2 }] }))
    expect((await rejection(b.caller.jobs.get({ id: job.id }))).code).toBe('NOT_FOUND')
    expect((await rejection(b.caller.jobs.cancel({ id: job.id }))).code).toBe('NOT_FOUND')
    expect((await rejection(b.caller.jobs.delete({ id: job.id }))).code).toBe('NOT_FOUND')
    expect((await b.caller.jobs.list({})).items).toEqual([])
    await idle(app)
    expect((await a.caller.jobs.get({ id: job.id })).status).toBe('succeeded')
  })

  it('cancels a running job', { timeout: 60_000 }, async () => {
    const { caller } = await signedIn()
    const job = await caller.jobs.create(createJobFormData({ image: await imageFile('astronaut.png'), steps: [upscaleX4] }))
    for (let i = 0; i < 100 && (await caller.jobs.get({ id: job.id })).status === 'queued'; i++) await new Promise((r) => setTimeout(r, 50))
    const cancelled = await caller.jobs.cancel({ id: job.id })
    expect(cancelled.status).toBe('cancelled')
    await idle(app)
    expect((await caller.jobs.get({ id: job.id })).status).toBe('cancelled')
  })
})

describe('confirmation and password reset (codes from the emulator)', () => {
  it('an unconfirmed sign-up must confirm with the emailed code, then signs in', async () => {
    const strict = createTestApp({ AUTH_AUTO_CONFIRM: '0' })
    const { caller, session } = callerFor(strict)
    const email = `confirm-${randomUUID().slice(0, 8)}@example.com`
    expect(await caller.auth.signUp({ email, password: 'a-long-password' })).toEqual({ signedIn: false, next: 'confirm' })
    expect((await rejection(caller.auth.signIn({ email, password: 'a-long-password' }))).code).toBe('FORBIDDEN')
    expect((await rejection(caller.auth.confirmSignUp({ email, code: '000000' }))).message).toMatch(/code is not right/)
    await caller.auth.confirmSignUp({ email, code: LOCAL_CONFIRMATION_CODE })
    await caller.auth.signIn({ email, password: 'a-long-password' })
    expect(session.accessToken).toBeTruthy()
  })

  it('resets a forgotten password with the emailed code', async () => {
    const { caller, email } = await newUser()
    await caller.auth.signOut()
    expect(await caller.auth.forgotPassword({ email })).toEqual({ sent: true })
    await caller.auth.resetPassword({ email, code: LOCAL_CONFIRMATION_CODE, password: 'another-long-password' })
    expect((await caller.auth.me()).email).toBe(email)
    expect((await rejection(callerFor(app).caller.auth.signIn({ email, password: 'a-long-password' }))).code).toBe('UNAUTHORIZED')
  })
})

describe('metrics', () => {
  it('counts created jobs, finished jobs and step durations per model', async () => {
    const text = await app.metrics.registry.metrics()
    expect(text).toMatch(/restora_jobs_created_total \d+/)
    expect(text).toMatch(/restora_jobs_finished_total\{status="succeeded"\} \d+/)
    expect(text).toMatch(/restora_step_duration_seconds_count\{model="esrgan-medium",outcome="succeeded"\} \d+/)
    expect(text).toMatch(/restora_queue_depth 0/)
  })
})

describe('sign-in rate limit', () => {
  it('after 10 attempts for one email from one address, the 11th waits, even with the right password', async () => {
    const limited = createTestApp()
    const email = `guess-${randomUUID().slice(0, 6)}@example.com`
    for (let i = 0; i < 10; i++)
      expect((await rejection(callerFor(limited).caller.auth.signIn({ email, password: `wrong-password-${i}` }))).code).toBe('UNAUTHORIZED')
    const blocked = await rejection(callerFor(limited).caller.auth.signIn({ email, password: 'the-right-one-maybe' }))
    expect(blocked.code).toBe('TOO_MANY_REQUESTS')
    expect(blocked.message).toMatch(/try again in \d+ minutes?/)
    // Another account is not affected.
    await callerFor(limited).caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
  })
})
