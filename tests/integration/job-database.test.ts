import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { MIGRATIONS_DIR, openDatabase, type OpenDatabase } from '../../server/db/database'
import { jobs } from '../../server/db/schema'
import { importJsonJobs } from '../../server/db/import-json-jobs'
import { BadCursorError, JobLimitError, JobRepository, jobKeys, type JobRecord } from '../../server/jobs/repository'
import { LocalFolderStore } from '../../server/storage/local-folder-store'
import { stackEnv } from '../helpers/auth'

/**
 * The job repository on both engines it runs on: embedded PGlite (`npm run dev`) and a real
 * PostgreSQL server (what RDS runs; started by the test setup). Same SQL, same assertions.
 */
const opened: OpenDatabase[] = []
afterAll(() => Promise.all(opened.map((d) => d.close())))

const engines = {
  pglite: () => openDatabase({ url: null, ssl: false, poolSize: 1, pgliteDir: 'memory' }),
  // A database of its own on the test server: the queued jobs these tests write must not reach another file's
  // orchestrator, whose restart recovery lists every unfinished job in its database.
  postgres: async () => {
    const url = new URL(stackEnv().DATABASE_URL!)
    const name = `repository_${randomUUID().replace(/-/g, '').slice(0, 12)}`
    const admin = new pg.Client({ connectionString: url.toString() })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    url.pathname = `/${name}`
    return openDatabase({ url: url.toString(), ssl: false, poolSize: 20, pgliteDir: 'unused' })
  },
}

export function jobRecord(ownerSub: string, overrides: Partial<JobRecord> = {}): JobRecord {
  const now = new Date().toISOString()
  return {
    id: randomUUID(),
    ownerSub,
    status: 'queued',
    steps: [{ spec: { task: 'upscale', model: 'esrgan-slim', options: { scale: 2 } }, status: 'pending', progress: null, output: null }],
    currentStep: 0,
    batchId: null,
    userMask: false,
    inputName: 'photo.png',
    input: { width: 451, height: 300, bytes: 1000, contentType: 'image/png' },
    output: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    attempts: 0,
    ...overrides,
  }
}

const roomy = { maxActive: 1000, maxPerMinute: 100_000, maxStored: 100_000 }
/** `count` finished jobs a millisecond apart, oldest first. */
const history = (sub: string, count: number, from = Date.parse('2026-01-01T00:00:00Z')) =>
  Array.from({ length: count }, (_, i) => jobRecord(sub, { status: 'succeeded', createdAt: new Date(from + i).toISOString() }))

for (const [engine, open] of Object.entries(engines)) {
  describe(`job repository on ${engine}`, async () => {
    const database = await open()
    opened.push(database)
    const repo = new JobRepository(Promise.resolve(database.db))
    const user = () => `user-${randomUUID()}`

    it('keeps the unfinished-job limit under 30 concurrent creates: exactly 20 get in', async () => {
      const sub = user()
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, () =>
          repo.createAll(sub, [jobRecord(sub)], { ...roomy, maxActive: 20 }).then(
            () => 'ok',
            (e: Error) => (e instanceof JobLimitError ? e.message : `other: ${e.message}`),
          ),
        ),
      )
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(20)
      expect(outcomes.filter((o) => o !== 'ok').every((m) => m === 'You have 20 unfinished jobs; the limit is 20. Wait for some to finish.')).toBe(true)
      expect((await repo.page(sub, { limit: 100 })).items).toHaveLength(20)
    })

    it('admits a batch whole or not at all: 8 concurrent 20-job batches under a limit of 50 leave 40 jobs', async () => {
      const sub = user()
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () =>
          repo
            .createAll(
              sub,
              Array.from({ length: 20 }, () => jobRecord(sub)),
              { ...roomy, maxActive: 50 },
            )
            .then(
              () => 'ok',
              (e: Error) => e.message,
            ),
        ),
      )
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(2)
      expect(outcomes).toContain('You have 40 unfinished jobs; the limit is 50. This batch of 20 would make 60. Wait for some to finish.')
      expect((await repo.page(sub, { limit: 100 })).items).toHaveLength(40)
      // A batch up to the contract's maximum fits when the user has room.
      const other = user()
      await repo.createAll(
        other,
        Array.from({ length: 50 }, () => jobRecord(other)),
        { ...roomy, maxActive: 50 },
      )
    })

    it('limits jobs a minute and stored jobs, with messages that say which', async () => {
      const sub = user()
      await repo.createAll(sub, [jobRecord(sub), jobRecord(sub)], { ...roomy, maxPerMinute: 2 })
      await expect(repo.createAll(sub, [jobRecord(sub)], { ...roomy, maxPerMinute: 2 })).rejects.toThrow(
        /creating jobs too fast \(the limit is 2 a minute\): retry in \d+ s/,
      )
      const old = user()
      await repo.importRecords(history(old, 5))
      await expect(repo.createAll(old, [jobRecord(old)], { ...roomy, maxStored: 5 })).rejects.toThrow(
        'Your history holds 5 jobs; the limit is 5. Delete old jobs to make room.',
      )
      // The count follows deletions (and imports already there are not counted twice).
      const [first] = (await repo.page(old, { limit: 1 })).items
      await repo.delete(first!)
      await repo.delete(first!)
      expect(await repo.importRecords(history(old, 0))).toBe(0)
      await repo.createAll(old, [jobRecord(old)], { ...roomy, maxStored: 5 })
      await expect(repo.createAll(old, [jobRecord(old)], { ...roomy, maxStored: 5 })).rejects.toThrow('Your history holds 5 jobs')
    })

    it('pages newest first with keyset cursors that survive deleting the job a cursor names', async () => {
      const sub = user()
      const jobs = history(sub, 45)
      await repo.importRecords(jobs)
      const newestFirst = [...jobs].reverse().map((j) => j.id)
      const first = await repo.page(sub, { limit: 20 })
      expect(first.items.map((j) => j.id)).toEqual(newestFirst.slice(0, 20))
      await repo.delete({ ownerSub: sub, id: first.items.at(-1)!.id })
      const second = await repo.page(sub, { limit: 20, cursor: first.nextCursor })
      expect(second.items.map((j) => j.id)).toEqual(newestFirst.slice(20, 40))
      const third = await repo.page(sub, { limit: 20, cursor: second.nextCursor })
      expect(third.items.map((j) => j.id)).toEqual(newestFirst.slice(40))
      expect(third.nextCursor).toBeNull()
      for (const garbage of ['garbage', '2026-01-01T00:00:00.000Z|x', "2026-01-01T00:00:00.000Z|abcdefghijk' or 1=1 --"])
        await expect(repo.page(sub, { limit: 20, cursor: garbage })).rejects.toBeInstanceOf(BadCursorError)
      // Another user's history stays out of it.
      expect((await repo.page(user(), { limit: 20 })).items).toEqual([])
    })

    it('searches by file name (wildcards taken literally), filters by status, and pages oldest first', async () => {
      const sub = user()
      const names = ['Beach 2024.jpg', 'beach_50%.png', 'city.png', 'beachXY50.png', 'CITY night.jpg']
      const records = names.map((inputName, i) =>
        jobRecord(sub, { inputName, status: i === 2 ? 'failed' : 'succeeded', createdAt: new Date(Date.parse('2026-02-01T00:00:00Z') + i).toISOString() }),
      )
      await repo.importRecords(records)
      const found = async (options: Parameters<typeof repo.page>[1]) => (await repo.page(sub, options)).items.map((j) => j.inputName)
      expect(await found({ limit: 10, search: 'beach' })).toEqual(['beachXY50.png', 'beach_50%.png', 'Beach 2024.jpg'])
      // "_" and "%" are characters here, not LIKE's wildcards.
      expect(await found({ limit: 10, search: 'beach_50%' })).toEqual(['beach_50%.png'])
      expect(await found({ limit: 10, search: 'CITY' })).toEqual(['CITY night.jpg', 'city.png'])
      expect(await found({ limit: 10, status: 'failed' })).toEqual(['city.png'])
      const first = await repo.page(sub, { limit: 2, order: 'oldest' })
      expect(first.items.map((j) => j.inputName)).toEqual(['Beach 2024.jpg', 'beach_50%.png'])
      const second = await repo.page(sub, { limit: 2, order: 'oldest', cursor: first.nextCursor })
      expect(second.items.map((j) => j.inputName)).toEqual(['city.png', 'beachXY50.png'])
    })

    it('never lets a late save undo a cancel, nor bring back a deleted job', async () => {
      const sub = user()
      const job = jobRecord(sub)
      await repo.createAll(sub, [job], roomy)
      const stale = structuredClone(job)
      await repo.save({ ...job, status: 'cancelled' })
      await repo.save({ ...stale, status: 'running' })
      expect((await repo.get(job))!.status).toBe('cancelled')
      await repo.delete(job)
      await repo.save({ ...stale, status: 'succeeded' })
      expect(await repo.get(job)).toBeNull()
      expect(await repo.get({ ownerSub: 'someone-else', id: job.id })).toBeNull()
    })

    it('lists unfinished jobs for recovery', async () => {
      const sub = user()
      const running = jobRecord(sub, { status: 'running' })
      await repo.importRecords([running, ...history(sub, 3)])
      const unfinished = (await repo.listUnfinished()).filter((j) => j.ownerSub === sub)
      expect(unfinished.map((j) => j.id)).toEqual([running.id])
    })

    it('imports the JSON records of a store from before the database, idempotently', async () => {
      const store = new LocalFolderStore(await mkdtemp(join(tmpdir(), 'restora-import-')))
      const sub = user()
      const records = history(sub, 250)
      for (const record of records) await store.put(jobKeys(record).record, Buffer.from(JSON.stringify(record)), 'application/json')
      await store.put(`users/${sub}/jobs/broken-job-0001/job.json`, Buffer.from('{not json'), 'application/json')
      await store.put(`users/${sub}/jobs/${records[0]!.id}/input`, Buffer.from('png bytes'), 'image/png')
      expect(await importJsonJobs(store, repo)).toEqual({ found: 251, imported: 250, alreadyThere: 0, unreadable: 1 })
      expect(await importJsonJobs(store, repo)).toEqual({ found: 251, imported: 0, alreadyThere: 250, unreadable: 1 })
      expect(await repo.get(records[7]!)).toEqual(records[7])
      expect((await repo.page(sub, { limit: 100 })).items).toHaveLength(100)
    })

    it('moves the steps of records from before options into options, in the database (migration 0002) and on import', async () => {
      const sub = user()
      const legacy = (id: string) => ({
        ...jobRecord(sub, { id, status: 'succeeded' }),
        maskMode: 'user',
        steps: [
          { spec: { task: 'remove-text', model: 'text-removal', scale: 1 }, status: 'succeeded', progress: null, output: null },
          { spec: { task: 'upscale', model: 'esrgan-slim', scale: 4 }, status: 'succeeded', progress: null, output: null },
          { spec: { task: 'denoise', model: 'maxim-denoising', scale: 1 }, status: 'succeeded', progress: null, output: null },
        ],
      })
      const expected = [
        { task: 'remove-text', model: 'text-removal', options: { maskMode: 'user' } },
        { task: 'upscale', model: 'esrgan-slim', options: { scale: 4 } },
        { task: 'denoise', model: 'maxim-denoising', options: {} },
      ]
      // A row written by the code before options, then the migration's own SQL run over it again.
      const row = legacy(randomUUID()) as unknown as JobRecord
      await database.db
        .insert(jobs)
        .values({ id: row.id, ownerSub: sub, status: row.status, batchId: null, createdAt: row.createdAt, updatedAt: row.updatedAt, record: row })
      await database.db.execute(sql.raw(await readFile(join(MIGRATIONS_DIR, '0002_step_options.sql'), 'utf8')))
      const migrated = (await repo.get(row))!
      expect(migrated.steps.map((s) => s.spec)).toEqual(expected)
      expect(migrated).not.toHaveProperty('maskMode')
      // A JSON record of the old store, imported after the migration ran.
      const store = new LocalFolderStore(await mkdtemp(join(tmpdir(), 'restora-import-')))
      const old = legacy(randomUUID()) as unknown as JobRecord
      await store.put(jobKeys(old).record, Buffer.from(JSON.stringify(old)), 'application/json')
      await importJsonJobs(store, repo)
      expect((await repo.get(old))!.steps.map((s) => s.spec)).toEqual(expected)
    })
  })
}
