import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { TRPCError } from '@trpc/server'
import { describe, expect, it } from 'vitest'
import { createBatchFormData, createJobFormData } from '../../contracts/api'
import type { App } from '../../server/app'
import type { JobQueue } from '../../server/jobs/queue'
import { stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'
import { fixture } from '../helpers/images'

/**
 * The job database issue's probes, through the real router on the PostgreSQL server: history
 * and limits that hold at any size and under concurrency, across orchestrator processes.
 * Jobs here are admitted but never run (a queue that does not deliver): only admission is tested.
 */
const idleQueue: JobQueue = { enqueue: async () => {}, consume: () => {}, depth: async () => 0, stop: async () => {} }
const step = { task: 'upscale', model: 'esrgan-slim', scale: 2 } as const
const photo = await readFile(fixture('chelsea.png'))
const file = () => new File([photo], 'chelsea.png', { type: 'image/png' })

async function newUser(app: App) {
  const user = callerFor(app)
  const email = `history-${randomUUID().slice(0, 8)}@example.com`
  await user.caller.auth.signUp({ email, password: 'a-long-password' })
  return { ...user, email, password: 'a-long-password' }
}

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TRPCError)
  return error as TRPCError
}

describe('history that holds at any size', () => {
  it('600 jobs of one user, then 50 concurrent jobs.list: every answer is a page, other users unaffected', { timeout: 120_000 }, async () => {
    const app = createTestApp({ MAX_ACTIVE_JOBS_PER_USER: '1000' }, { queue: idleQueue })
    const heavy = await newUser(app)
    for (let i = 0; i < 12; i++) {
      const batch = await heavy.caller.jobs.createBatch(createBatchFormData({ images: Array.from({ length: 50 }, file), steps: [step] }))
      expect(batch.jobs).toHaveLength(50)
    }
    const other = await newUser(app)
    const results = await Promise.allSettled([
      ...Array.from({ length: 50 }, () => heavy.caller.jobs.list({ limit: 100 })),
      other.caller.jobs.list({}),
      other.caller.jobs.create(createJobFormData({ image: file(), steps: [step] })),
    ])
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
    const pages = results.slice(0, 50).map((r) => (r as PromiseFulfilledResult<{ items: unknown[]; nextCursor: string | null }>).value)
    expect(pages.every((p) => p.items.length === 100 && p.nextCursor !== null)).toBe(true)
    // Walking the whole history by cursor visits each job once.
    const seen = new Set<string>()
    for (let cursor: string | null = null, n = 0; n < 10; n++) {
      const page: { items: { id: string }[]; nextCursor: string | null } = await heavy.caller.jobs.list({ limit: 100, cursor })
      for (const job of page.items) seen.add(job.id)
      cursor = page.nextCursor
      if (!cursor) break
    }
    expect(seen.size).toBe(600)
  })

  it('deleting the job a cursor names does not repeat page 1; a garbage cursor is a clear 400', { timeout: 60_000 }, async () => {
    const app = createTestApp({}, { queue: idleQueue })
    const user = await newUser(app)
    await user.caller.jobs.createBatch(createBatchFormData({ images: Array.from({ length: 5 }, file), steps: [step] }))
    const all = (await user.caller.jobs.list({ limit: 5 })).items.map((j) => j.id)
    const first = await user.caller.jobs.list({ limit: 2 })
    const named = first.items.at(-1)!.id // the job the cursor names
    await user.caller.jobs.cancel({ id: named })
    await user.caller.jobs.delete({ id: named })
    const second = await user.caller.jobs.list({ limit: 2, cursor: first.nextCursor })
    expect(second.items.map((j) => j.id)).toEqual(all.slice(2, 4))
    const garbage = await rejection(user.caller.jobs.list({ limit: 2, cursor: 'garbage' }))
    expect(garbage.code).toBe('BAD_REQUEST')
    expect(garbage.message).toMatch(/cursor/)
  })
})

describe('limits that hold under concurrency', () => {
  it('30 concurrent jobs.create under a limit of 20: exactly 20 accepted, the rest told why', { timeout: 60_000 }, async () => {
    const app = createTestApp({ MAX_ACTIVE_JOBS_PER_USER: '20' }, { queue: idleQueue })
    const { caller } = await newUser(app)
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () =>
        caller.jobs.create(createJobFormData({ image: file(), steps: [step] })).then(
          () => 'accepted',
          (e: TRPCError) => `${e.code}: ${e.message}`,
        ),
      ),
    )
    expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(20)
    expect(new Set(outcomes.filter((o) => o !== 'accepted'))).toEqual(
      new Set(['TOO_MANY_REQUESTS: You have 20 unfinished jobs; the limit is 20. Wait for some to finish.']),
    )
  })

  it('8 concurrent 20-image batches under a limit of 50: whole batches only, 40 jobs in all; a 50-image batch fits a user with room', {
    timeout: 120_000,
  }, async () => {
    const app = createTestApp({ MAX_ACTIVE_JOBS_PER_USER: '50' }, { queue: idleQueue })
    const { caller } = await newUser(app)
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () =>
        caller.jobs.createBatch(createBatchFormData({ images: Array.from({ length: 20 }, file), steps: [step] })).then(
          (b) => b.jobs.length,
          (e: TRPCError) => e.message,
        ),
      ),
    )
    expect(outcomes.filter((o) => o === 20)).toHaveLength(2)
    expect(outcomes).toContain('You have 40 unfinished jobs; the limit is 50. This batch of 20 would make 60. Wait for some to finish.')
    expect((await caller.jobs.list({ limit: 100 })).items).toHaveLength(40)
    const roomy = await newUser(app)
    expect((await roomy.caller.jobs.createBatch(createBatchFormData({ images: Array.from({ length: 50 }, file), steps: [step] }))).jobs).toHaveLength(50)
  })

  it('two orchestrator processes on one PostgreSQL server share the limit: 15 + 15 concurrent creates, 20 accepted', { timeout: 120_000 }, async () => {
    const app = createTestApp({ MAX_ACTIVE_JOBS_PER_USER: '20' }, { queue: idleQueue })
    const user = await newUser(app)
    const args = JSON.stringify({
      env: { ...stackEnv(), MAX_ACTIVE_JOBS_PER_USER: '20', LOG_LEVEL: 'error' },
      email: user.email,
      password: user.password,
      count: 15,
      image: fixture('chelsea.png'),
    })
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/orchestrator-process.ts', args], { stdio: ['pipe', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    const exited = new Promise((resolve) => child.on('exit', resolve))
    // Let the second process sign in, then both create at once.
    await new Promise((r) => setTimeout(r, 8000))
    child.stdin.write('go\n')
    const here = await Promise.all(
      Array.from({ length: 15 }, () =>
        user.caller.jobs.create(createJobFormData({ image: file(), steps: [step] })).then(
          () => 1,
          () => 0,
        ),
      ),
    )
    await exited
    const there = JSON.parse(output.trim().split('\n').at(-1)!) as { accepted: number; refused: string[] }
    expect(here.reduce((a: number, b) => a + b, 0) + there.accepted).toBe(20)
    expect((await user.caller.jobs.list({ limit: 100 })).items).toHaveLength(20)
  })
})
