import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { TRPCError } from '@trpc/server'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { createBatchFormData, createJobFormData, type JobView } from '../../contracts/api'
import { DEMO_USER, freePort, startInferenceService } from '../../scripts/lib/local-stack'
import type { App } from '../../server/app'
import type { InProcessQueue, JobQueue } from '../../server/jobs/queue'
import { jobKeys } from '../../server/jobs/repository'
import { LocalFolderStore } from '../../server/storage/local-folder-store'
import { stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'
import { fixture } from '../helpers/images'

const idle = (a: App) => (a.queue as InProcessQueue).idle()
const image = async (name: string) => new File([await readFile(fixture(name))], name, { type: 'image/png' })
const upscale = (scale: number) => ({ task: 'upscale' as const, model: 'esrgan-medium', scale })
/** chelsea.png at a third of its size (150x100): for the runs whose checks are sizes and statuses, not pixels (x4 of it costs a ninth). */
const smallChelsea = async () => new File([await sharp(fixture('chelsea.png')).resize(150, 100).png().toBuffer()], 'chelsea-small.png', { type: 'image/png' })

async function signedIn(app: App) {
  const user = callerFor(app)
  await user.caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
  return user
}

/** A user of its own, for tests of per-user limits (the demo user's jobs of other tests count against them). */
async function newUser(app: App) {
  const user = callerFor(app)
  await user.caller.auth.signUp({ email: `limits-${randomUUID().slice(0, 8)}@example.com`, password: 'a-long-password' })
  return user
}

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TRPCError)
  return error as TRPCError
}

async function waitForStatus(_app: App, caller: ReturnType<typeof callerFor>['caller'], id: string, done: (job: JobView) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await caller.jobs.get({ id })
    if (done(job) || Date.now() > deadline) return job
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('pipelines, batches, history', () => {
  const app = createTestApp()

  it('runs a two-step pipeline, each step on the previous output (x2 then x2 = x4)', { timeout: 120_000 }, async () => {
    const { caller } = await signedIn(app)
    const job = await caller.jobs.create(createJobFormData({ image: await smallChelsea(), steps: [upscale(2), upscale(2)] }))
    await idle(app)
    const done = await caller.jobs.get({ id: job.id })
    expect(done.status).toBe('succeeded')
    expect(done.steps.map((s) => [s.status, s.output?.width, s.output?.height])).toEqual([
      ['succeeded', 300, 200],
      ['succeeded', 600, 400],
    ])
    expect(done.output).toMatchObject({ width: 600, height: 400 })
  })

  it('refuses a pipeline longer than the limit and one whose output would be too large', async () => {
    const { caller } = await signedIn(app)
    const long = Array.from({ length: 100 }, () => upscale(2))
    expect((await rejection(caller.jobs.create(createJobFormData({ image: await image('chelsea.png'), steps: long })))).code).toBe('BAD_REQUEST')
    const huge = await rejection(caller.jobs.create(createJobFormData({ image: await image('astronaut.png'), steps: [upscale(4), upscale(4)] })))
    expect(huge.code).toBe('PAYLOAD_TOO_LARGE')
    expect(huge.message).toMatch(/x16/)
  })

  it('refuses a photo too big for a step model to finish in time, at the size it has when that step runs', async () => {
    const { caller } = await signedIn(app)
    // MAXIM takes up to 4 MP: 1200x900 (1.1 MP) is fine to denoise, but not after an x2 upscale (4.3 MP).
    const photo = new File([await sharp(fixture('chelsea.png')).resize(1200, 900).png().toBuffer()], 'big.png', { type: 'image/png' })
    const denoise = { task: 'denoise' as const, model: 'maxim-denoising', scale: 1 }
    const late = await rejection(caller.jobs.create(createJobFormData({ image: photo, steps: [upscale(2), denoise] })))
    expect(late.code).toBe('PAYLOAD_TOO_LARGE')
    expect(late.message).toMatch(/MAXIM denoising takes photos up to 4\.0 MP.*2400x1800/)
    const early = await caller.jobs.create(createJobFormData({ image: photo, steps: [denoise, upscale(2)] }))
    await caller.jobs.cancel({ id: early.id })
  })

  it('refuses a step whose service is not running', async () => {
    const { caller } = await signedIn(createTestApp({ DENOISE_SERVICE_URLS: '' }))
    const error = await rejection(
      caller.jobs.create(createJobFormData({ image: await image('chelsea.png'), steps: [{ task: 'denoise', model: 'x', scale: 1 }] })),
    )
    expect(error.message).toMatch(/No denoise service/)
  })

  it('creates a batch: good images become jobs, a bad one is reported, not fatal', { timeout: 120_000 }, async () => {
    const { caller } = await signedIn(app)
    const truncated = new File([await readFile(fixture('truncated.jpg'))], 'truncated.jpg', { type: 'image/jpeg' })
    const batch = await caller.jobs.createBatch(
      createBatchFormData({ images: [await smallChelsea(), truncated, await image('camera.png')], steps: [upscale(2)] }),
    )
    expect(batch.jobs).toHaveLength(2)
    expect(batch.jobs.every((j) => j.batchId === batch.batchId)).toBe(true)
    expect(batch.rejected).toEqual([{ name: 'truncated.jpg', message: expect.stringMatching(/damaged|not an image/) }])
    await idle(app)
    for (const j of batch.jobs) expect((await caller.jobs.get({ id: j.id })).status).toBe('succeeded')
  })

  it('lists history newest first, page by page', async () => {
    const { caller } = await signedIn(app)
    const first = await caller.jobs.list({ limit: 2 })
    expect(first.items).toHaveLength(2)
    expect(first.items[0]!.createdAt >= first.items[1]!.createdAt).toBe(true)
    const second = await caller.jobs.list({ limit: 2, cursor: first.nextCursor })
    expect(second.items.map((j) => j.id)).not.toContain(first.items[0]!.id)
  })

  it('streams progress through the subscription until the job ends', { timeout: 120_000 }, async () => {
    const { caller } = await signedIn(app)
    const job = await caller.jobs.create(createJobFormData({ image: await image('coffee.png'), steps: [upscale(2)] }))
    const seen: JobView[] = []
    for await (const view of await caller.jobs.progress({ id: job.id })) seen.push(view)
    expect(seen.at(-1)!.status).toBe('succeeded')
    expect(seen.some((v) => v.status === 'running' && (v.steps[0]!.progress?.done ?? 0) > 0)).toBe(true)
  })

  it('deletes a finished job and its images; a running one must be cancelled first', { timeout: 60_000 }, async () => {
    const { caller } = await signedIn(app)
    const job = await caller.jobs.create(createJobFormData({ image: await image('astronaut.png'), steps: [upscale(4)] }))
    expect((await rejection(caller.jobs.delete({ id: job.id }))).code).toBe('CONFLICT')
    await caller.jobs.cancel({ id: job.id })
    await idle(app)
    await caller.jobs.delete({ id: job.id })
    expect((await rejection(caller.jobs.get({ id: job.id }))).code).toBe('NOT_FOUND')
    const me = await caller.auth.me()
    expect(await app.store.list(jobKeys({ ownerSub: me.sub, id: job.id }).base)).toEqual([])
  })
})

describe('back-pressure and per-user limits', () => {
  it('answers "busy, retry" instead of queueing without bound', { timeout: 120_000 }, async () => {
    const app = createTestApp({ JOB_CONCURRENCY: '1', MAX_QUEUED_JOBS: '1' })
    const { caller } = await signedIn(app)
    // The whole photo: the first job must still run while the third is created.
    const form = async () => createJobFormData({ image: await image('chelsea.png'), steps: [upscale(2)] })
    await caller.jobs.create(await form()) // running
    await caller.jobs.create(await form()) // waiting
    const busy = await rejection(caller.jobs.create(await form()))
    expect(busy.code).toBe('TOO_MANY_REQUESTS')
    expect(busy.message).toMatch(/busy: retry in \d+ s/)
    await idle(app)
  })

  it('limits how fast one user creates jobs', async () => {
    const app = createTestApp({ MAX_JOBS_PER_MINUTE_PER_USER: '1' })
    const { caller } = await newUser(app)
    await caller.jobs.create(createJobFormData({ image: await smallChelsea(), steps: [upscale(2)] }))
    const limited = await rejection(caller.jobs.create(createJobFormData({ image: await smallChelsea(), steps: [upscale(2)] })))
    expect(limited.code).toBe('TOO_MANY_REQUESTS')
    await idle(app)
  })
})

describe('faults: nothing is lost, nothing stays running', () => {
  it('resumes queued and running jobs after an orchestrator restart, as the orchestrator itself', { timeout: 120_000 }, async () => {
    const dataDir = `${stackEnv().DATA_DIR}-restart-${randomUUID().slice(0, 6)}`
    // The first orchestrator accepts jobs but dies before running them: its queue never delivers.
    const deadQueue: JobQueue = { enqueue: async () => {}, consume: () => {}, depth: async () => 0, stop: async () => {} }
    const before = createTestApp({ DATA_DIR: dataDir }, { queue: deadQueue })
    const { caller } = await signedIn(before)
    const queued = await caller.jobs.create(createJobFormData({ image: await smallChelsea(), steps: [upscale(2)] }))
    const interrupted = await caller.jobs.create(createJobFormData({ image: await image('camera.png'), steps: [upscale(2), upscale(2)] }))
    // Make the second look like it died mid-pipeline: step 0 done and stored, step 1 running.
    const me = await caller.auth.me()
    const record = (await before.jobs.get({ ownerSub: me.sub, id: interrupted.id }))!
    // A 160x160 PNG stands in for step 0's output (the camera's x2 would be 1024x1024): a 320x320 result proves step 1 started from it.
    const firstOutput = await sharp(fixture('astronaut.png')).resize(160, 160).png().toBuffer()
    await before.store.put(jobKeys(record).stepOutput(0), firstOutput, 'image/png')
    Object.assign(record, { status: 'running', currentStep: 1 })
    record.steps[0] = { ...record.steps[0]!, status: 'succeeded', output: { width: 160, height: 160, bytes: firstOutput.length, contentType: 'image/png' } }
    record.steps[1]!.status = 'running'
    await before.jobs.save(record)

    // A new process: same store, no user tokens in memory.
    const after = createTestApp({ DATA_DIR: dataDir }, { store: new LocalFolderStore(dataDir) })
    expect(await after.runner.recover()).toBe(2)
    await idle(after)
    const own = callerFor(after, (await signedIn(after)).session).caller
    expect(await own.jobs.get({ id: queued.id })).toMatchObject({ status: 'succeeded', output: { width: 300, height: 200 } })
    const resumed = await own.jobs.get({ id: interrupted.id })
    expect(resumed.status).toBe('succeeded')
    expect(resumed.output).toMatchObject({ width: 320, height: 320 }) // built on the stored step-0 output, not recomputed
  })

  it('retries on another replica when a service is killed mid-job', { timeout: 180_000 }, async () => {
    const port = await freePort()
    const doomed = await startInferenceService('upscale', port, { ...stackEnv(), LOG_LEVEL: 'warn' })
    const app = createTestApp({ UPSCALE_SERVICE_URLS: `http://127.0.0.1:${port},${stackEnv().UPSCALE_SERVICE_URLS}` })
    const { caller } = await signedIn(app)
    // 320x320: nine tiles, so the kill lands after the first and well before the last.
    const photo = new File([await sharp(fixture('astronaut.png')).resize(320, 320).png().toBuffer()], 'astronaut-320.png', { type: 'image/png' })
    const job = await caller.jobs.create(createJobFormData({ image: photo, steps: [upscale(4)] }))
    const started = await waitForStatus(app, caller, job.id, (j) => (j.steps[0]!.progress?.done ?? 0) > 0)
    expect(started.status).toBe('running')
    doomed.kill('SIGKILL')
    await idle(app)
    const done = await caller.jobs.get({ id: job.id })
    expect(done).toMatchObject({ status: 'succeeded', output: { width: 1280, height: 1280 } })
    expect(done.attempts).toBeGreaterThanOrEqual(2)
  })
})
