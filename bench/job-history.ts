// Job database bench (job database issue): the queries of the job history, timed warm on both
// engines the repository runs on: embedded PGlite in a folder (`npm run dev`) and a PostgreSQL
// server (what RDS runs; a throwaway one started here from Debian's package, as the tests do).
//   npx tsx bench/job-history.ts [--heavy 10000] [--users 200] [--per-user 100] [--unfinished 100] [--reps 300]
// One heavy user with 10,000 jobs among 200 users with 100 each (so the index matters), records
// shaped as the API stores them. Bounded (a 10-minute watchdog); talks only to 127.0.0.1.
// Results go to bench/results/job-history.md.
import { randomUUID } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { and, desc, eq, sql } from 'drizzle-orm'
import pg from 'pg'
import type { StepState } from '../contracts/api'
import { openDatabase, type Database, type OpenDatabase } from '../server/db/database'
import { jobs } from '../server/db/schema'
import { JobRepository, type JobLimits, type JobRecord } from '../server/jobs/repository'
import { freePort, stopAll } from '../scripts/lib/local-stack'
import { startPostgres } from '../scripts/lib/postgres'
import { outputScale } from '../contracts/service'

const { values } = parseArgs({
  options: {
    heavy: { type: 'string', default: '10000' },
    users: { type: 'string', default: '200' },
    'per-user': { type: 'string', default: '100' },
    unfinished: { type: 'string', default: '100' },
    reps: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '10' },
    out: { type: 'string', default: 'bench/results/job-history.md' },
  },
})
const HEAVY = Number(values.heavy)
const USERS = Number(values.users)
const PER_USER = Number(values['per-user'])
const UNFINISHED = Number(values.unfinished)
const REPS = Number(values.reps)
const WARMUP = Number(values.warmup)
const TARGET_MS = 50

// Bounded: whatever happens, the bench and the server it started are gone after 10 minutes.
const watchdog = setTimeout(() => {
  console.error('job-history bench: over 10 minutes, giving up')
  void stopAll().finally(() => process.exit(2))
}, 600_000)
watchdog.unref()

// ---------------------------------------------------------------------------------------------
// Records as the API stores them (the shape of tests/integration/job-database.test.ts `jobRecord`),
// made deterministic by a small PRNG so both engines hold the same data.

let seed = 0x9e3779b9
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!

const SPECS: StepState['spec'][] = [
  { task: 'upscale', model: 'esrgan-slim', options: { scale: 2 } },
  { task: 'upscale', model: 'esrgan-medium', options: { scale: 4 } },
  { task: 'upscale', model: 'esrgan-thick', options: { scale: 4 } },
  { task: 'denoise', model: 'maxim-denoising', options: {} },
  { task: 'enhance', model: 'maxim-deblurring', options: {} },
  { task: 'enhance', model: 'maxim-enhancement', options: {} },
  { task: 'remove-text', model: 'text-removal-lama', options: { maskMode: 'both' } },
]
const NAMES = ['photo.png', 'IMG_2041.jpg', 'scan-page-3.tiff', 'holiday beach.webp', 'portrait_final.jpg', 'screenshot 2026-01-12.png']
const TYPES = ['image/png', 'image/jpeg', 'image/webp']

type Status = JobRecord['status']
function jobRecord(ownerSub: string, createdAt: string, status: Status): JobRecord {
  const width = 200 + Math.floor(random() * 1800)
  const height = 200 + Math.floor(random() * 1800)
  const contentType = pick(TYPES)
  const stepCount = 1 + Math.floor(random() * 3)
  const failedAt = status === 'failed' ? Math.floor(random() * stepCount) : -1
  const runningAt = status === 'running' ? Math.floor(random() * stepCount) : -1
  let w = width
  let h = height
  const steps: StepState[] = Array.from({ length: stepCount }, (_, i) => {
    const spec = pick(SPECS)
    w *= outputScale(spec.options)
    h *= outputScale(spec.options)
    const done = status === 'succeeded' || i < failedAt || i < runningAt || (status === 'cancelled' && i === 0)
    const stepStatus: StepState['status'] = done
      ? 'succeeded'
      : i === failedAt
        ? 'failed'
        : i === runningAt
          ? 'running'
          : status === 'cancelled'
            ? 'cancelled'
            : 'pending'
    const tiles = Math.ceil((w * h) / 65_536)
    return {
      spec,
      status: stepStatus,
      progress: stepStatus === 'pending' ? null : { done: stepStatus === 'succeeded' ? tiles : Math.floor(tiles / 2), total: tiles },
      output: done ? { width: w, height: h, bytes: Math.floor(w * h * 0.9), contentType: 'image/png' } : null,
    }
  })
  const updatedAt = new Date(Date.parse(createdAt) + 1000 + Math.floor(random() * 60_000)).toISOString()
  return {
    id: randomUUID(),
    ownerSub,
    status,
    steps,
    currentStep: status === 'succeeded' ? stepCount - 1 : Math.max(0, failedAt, runningAt),
    batchId: random() < 0.2 ? randomUUID() : null,
    userMask: false,
    inputName: pick(NAMES),
    input: { width, height, bytes: Math.floor(width * height * 0.4), contentType },
    output: status === 'succeeded' ? steps.at(-1)!.output : null,
    error: status === 'failed' ? { code: 'internal', message: 'The service failed while processing this image; try again.' } : null,
    createdAt,
    updatedAt,
    attempts: status === 'queued' ? 0 : 1,
  }
}

const finishedStatus = (): Status => {
  const r = random()
  return r < 0.9 ? 'succeeded' : r < 0.96 ? 'failed' : 'cancelled'
}

/** `count` finished jobs over the last year, each at its own millisecond, oldest first. */
function history(ownerSub: string, count: number): JobRecord[] {
  const end = Date.now() - 3_600_000
  const span = 365 * 86_400_000
  const times = new Set<number>()
  while (times.size < count) times.add(end - Math.floor(random() * span))
  return [...times].sort((a, b) => a - b).map((t) => jobRecord(ownerSub, new Date(t).toISOString(), finishedStatus()))
}

const HEAVY_USER = 'user-heavy-0000'
const heavyJobs = history(HEAVY_USER, HEAVY)
const otherJobs = Array.from({ length: USERS }, (_, u) => history(`user-${String(u).padStart(4, '0')}`, PER_USER)).flat()
// Unfinished jobs are the newest few of some users: 10 of the heavy user's, the rest spread out.
const all = [...heavyJobs, ...otherJobs]
{
  const heavyUnfinished = Math.min(10, UNFINISHED, HEAVY)
  for (let i = 0; i < heavyUnfinished; i++) heavyJobs[HEAVY - 1 - i]!.status = i % 2 ? 'running' : 'queued'
  for (let i = 0; i < UNFINISHED - heavyUnfinished; i++) {
    const user = i % USERS
    const job = otherJobs[user * PER_USER + PER_USER - 1 - Math.floor(i / USERS)]!
    job.status = i % 2 ? 'running' : 'queued'
  }
  // Rebuild the unfinished records so their steps match their status.
  for (const list of [heavyJobs, otherJobs])
    list.forEach((job, i) => {
      if (job.status === 'queued' || job.status === 'running') list[i] = { ...jobRecord(job.ownerSub, job.createdAt, job.status), id: job.id }
    })
  // Stored in creation order, as a live table fills: a user's rows are spread over the heap among everyone else's.
  all.splice(0, all.length, ...[...heavyJobs, ...otherJobs].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt)))
}
const newestFirst = [...heavyJobs].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
const DEEP = Math.min(9000, HEAVY - 100)
const secondCursor = `${newestFirst[19]!.createdAt}|${newestFirst[19]!.id}`
const deepCursor = `${newestFirst[DEEP - 1]!.createdAt}|${newestFirst[DEEP - 1]!.id}`
const recordBytes = all.map((j) => Buffer.byteLength(JSON.stringify(j)))
const avgBytes = Math.round(recordBytes.reduce((a, b) => a + b, 0) / recordBytes.length)

// ---------------------------------------------------------------------------------------------

interface Stats {
  p50: number
  p95: number
  max: number
  n: number
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
async function time(fn: (i: number) => Promise<unknown>, after?: (i: number) => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) {
    await fn(-1 - i)
    await after?.(-1 - i)
  }
  const samples: number[] = []
  for (let i = 0; i < REPS; i++) {
    const start = performance.now()
    await fn(i)
    samples.push(performance.now() - start)
    await after?.(i)
  }
  samples.sort((a, b) => a - b)
  return { p50: quantile(samples, 0.5), p95: quantile(samples, 0.95), max: samples.at(-1)!, n: samples.length }
}

interface Client {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
}
const client = (db: Database) => (db as unknown as { $client: Client }).$client

/** The SQL drizzle sends for `JobRepository.page` (first page) and for the counts of `createAll`. */
const firstPageQuery = (db: Database, ownerSub: string, limit: number) =>
  db
    .select({ record: jobs.record })
    .from(jobs)
    .where(and(eq(jobs.ownerSub, ownerSub), sql`true`))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit + 1)
    .toSQL()
const deepPageQuery = (db: Database, ownerSub: string, limit: number, cursor: string) => {
  const [at, id] = cursor.split('|')
  return db
    .select({ record: jobs.record })
    .from(jobs)
    .where(and(eq(jobs.ownerSub, ownerSub), sql`(${jobs.createdAt}, ${jobs.id}) < (${at}::timestamptz, ${id})`))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit + 1)
    .toSQL()
}
const countsQuery = (db: Database, ownerSub: string) =>
  db
    .select({
      active: sql<number>`count(*) filter (where ${jobs.status} in ('queued', 'running'))::int`,
      stored: sql<number>`count(*)::int`,
      lastMinute: sql<number>`count(*) filter (where ${jobs.createdAt} > now() - interval '1 minute')::int`,
      oldestInMinute: sql<string | null>`min(${jobs.createdAt}) filter (where ${jobs.createdAt} > now() - interval '1 minute')`,
    })
    .from(jobs)
    .where(eq(jobs.ownerSub, ownerSub))
    .toSQL()
/**
 * Not what the repository sends: the same four figures, each from the index that answers it (the
 * unfinished ones from jobs_unfinished, the last minute from a range of jobs_owner_history, the
 * stored count from jobs_owner_history alone, an index-only scan where the visibility map allows).
 */
const splitCountsQuery = (ownerSub: string) => ({
  sql: `select
    (select count(*)::int from jobs where owner_sub = $1 and status in ('queued', 'running')) as active,
    (select count(*)::int from jobs where owner_sub = $1) as stored,
    (select count(*)::int from jobs where owner_sub = $1 and created_at > now() - interval '1 minute') as last_minute,
    (select min(created_at) from jobs where owner_sub = $1 and created_at > now() - interval '1 minute') as oldest_in_minute`,
  params: [ownerSub],
})
const unfinishedQuery = (db: Database) => db.select({ record: jobs.record }).from(jobs).where(sql`${jobs.status} in ('queued', 'running')`).toSQL()

async function explain(db: Database, query: { sql: string; params: unknown[] }): Promise<string> {
  const { rows } = await client(db).query(`explain (analyze, buffers) ${query.sql}`, query.params)
  return rows.map((r) => String(Object.values(r)[0])).join('\n')
}

interface EngineResult {
  engine: string
  version: string
  fillSeconds: number
  rows: { name: string; stats: Stats }[]
  plans: Record<string, string>
  indexScans?: Record<string, number>
}

const LIMITS: JobLimits = { maxActive: 50, maxPerMinute: 100_000, maxStored: 100_000 }

async function bench(engine: string, opened: OpenDatabase, analyze: boolean): Promise<EngineResult> {
  const { db } = opened
  const repo = new JobRepository(Promise.resolve(db))
  const version = String(Object.values((await client(db).query('select version()')).rows[0]!)[0]).split(' on ')[0]!
  console.log(`${engine}: filling ${all.length} jobs...`)
  const fillStart = performance.now()
  for (let i = 0; i < all.length; i += 1000) await repo.importRecords(all.slice(i, i + 1000))
  const fillSeconds = (performance.now() - fillStart) / 1000
  // A server's autovacuum analyses a freshly filled table within a minute; doing it now makes the run repeatable.
  // Embedded PGlite has no autovacuum: it plans without statistics unless someone runs ANALYZE.
  if (analyze) await client(db).query('vacuum analyze jobs')
  const [{ n }] = (await client(db).query('select count(*)::int as n from jobs')).rows as [{ n: number }]
  if (n !== all.length) throw new Error(`${engine}: ${n} rows after the fill, expected ${all.length}`)

  const check = await repo.page(HEAVY_USER, { limit: 100, cursor: deepCursor })
  if (check.items[0]?.id !== newestFirst[DEEP]!.id || check.items.length !== 100) throw new Error(`${engine}: the deep page does not start at job ${DEEP + 1}`)
  const first = await repo.page(HEAVY_USER, { limit: 20 })
  if (first.items[0]?.id !== newestFirst[0]!.id) throw new Error(`${engine}: the first page does not start at the newest job`)
  const unfinished = await repo.listUnfinished()
  if (unfinished.length !== UNFINISHED) throw new Error(`${engine}: listUnfinished returned ${unfinished.length}, expected ${UNFINISHED}`)

  const light = 'user-0007'
  const created: string[] = []
  const dropCreated = async () => {
    // Untimed: keeps the user's history at its size (the stored count) for the next create.
    await db.delete(jobs).where(eq(jobs.id, created.pop()!))
  }
  const createFor = (sub: string) => async () => {
    const record = jobRecord(sub, new Date().toISOString(), 'queued')
    created.push(record.id)
    await repo.createAll(sub, [record], LIMITS)
  }
  const c = client(db)
  const counts = countsQuery(db, HEAVY_USER)
  const lightCounts = countsQuery(db, light)
  const rows: EngineResult['rows'] = []
  const measure = async (name: string, fn: (i: number) => Promise<unknown>, after?: (i: number) => Promise<unknown>) => {
    console.log(`${engine}: ${name}`)
    rows.push({ name, stats: await time(fn, after) })
  }
  await measure('page: first, limit 20', () => repo.page(HEAVY_USER, { limit: 20 }))
  await measure('page: first, limit 100', () => repo.page(HEAVY_USER, { limit: 100 }))
  await measure('page: second (cursor after job 20), limit 20', () => repo.page(HEAVY_USER, { limit: 20, cursor: secondCursor }))
  await measure(`page: after job ${DEEP} (cursor), limit 20`, () => repo.page(HEAVY_USER, { limit: 20, cursor: deepCursor }))
  await measure(`page: after job ${DEEP} (cursor), limit 100`, () => repo.page(HEAVY_USER, { limit: 100, cursor: deepCursor }))
  await measure('get by id', (i) => repo.get({ ownerSub: HEAVY_USER, id: heavyJobs[(i + HEAVY) % HEAVY]!.id }))
  await measure(`listUnfinished (${UNFINISHED} of ${all.length})`, () => repo.listUnfinished())
  await measure(`createAll of 1 job, user with ${HEAVY} jobs`, createFor(HEAVY_USER), dropCreated)
  await measure(`createAll of 1 job, user with ${PER_USER} jobs`, createFor(light), dropCreated)
  await measure(`  its counts query alone, ${HEAVY} jobs`, () => c.query(counts.sql, counts.params))
  await measure(`  its counts query alone, ${PER_USER} jobs`, () => c.query(lightCounts.sql, lightCounts.params))
  const split = splitCountsQuery(HEAVY_USER)
  const [proposed] = (await c.query(split.sql, split.params)).rows as [{ active: number; stored: number }]
  const heavyActive = heavyJobs.filter((j) => j.status === 'queued' || j.status === 'running').length
  if (proposed.active !== heavyActive || proposed.stored !== HEAVY) throw new Error(`${engine}: the split counts are wrong: ${JSON.stringify(proposed)}`)
  await measure(`  counts split by index (not in server/), ${HEAVY} jobs`, () => c.query(split.sql, split.params))

  const plans: Record<string, string> = {
    'first page (limit 20)': await explain(db, firstPageQuery(db, HEAVY_USER, 20)),
    'second page (cursor after job 20, limit 20)': await explain(db, deepPageQuery(db, HEAVY_USER, 20, secondCursor)),
    [`page after job ${DEEP} (limit 20)`]: await explain(db, deepPageQuery(db, HEAVY_USER, 20, deepCursor)),
    [`createAll counts, user with ${HEAVY} jobs`]: await explain(db, counts),
    [`counts split by index, user with ${HEAVY} jobs`]: await explain(db, splitCountsQuery(HEAVY_USER)),
    listUnfinished: await explain(db, unfinishedQuery(db)),
  }
  if (analyze) {
    // The stored count alone, the planner told to use the index (one connection, settings local to a transaction).
    await c.query('vacuum jobs')
    const conn = await (c as unknown as pg.Pool).connect()
    try {
      await conn.query('begin')
      await conn.query('set local enable_seqscan = off')
      await conn.query('set local enable_bitmapscan = off')
      const { rows: plan } = await conn.query('explain (analyze, buffers) select count(*) from jobs where owner_sub = $1', [HEAVY_USER])
      plans['stored count alone, index-only scan forced'] = plan.map((r) => String(Object.values(r)[0])).join('\n')
    } finally {
      await conn.query('rollback')
      conn.release()
    }
  } else {
    // What `npm run dev` never does, for comparison: the same cursor pages once PGlite has statistics.
    await c.query('analyze jobs')
    await measure('page: second (cursor after job 20), limit 20, after ANALYZE', () => repo.page(HEAVY_USER, { limit: 20, cursor: secondCursor }))
    await measure(`page: after job ${DEEP} (cursor), limit 20, after ANALYZE`, () => repo.page(HEAVY_USER, { limit: 20, cursor: deepCursor }))
    plans['second page after ANALYZE'] = await explain(db, deepPageQuery(db, HEAVY_USER, 20, secondCursor))
  }
  return { engine, version, fillSeconds, rows, plans }
}

// ---------------------------------------------------------------------------------------------

const dir = await mkdtemp(join(tmpdir(), 'restora-bench-db-'))
await chmod(dir, 0o711) // PostgreSQL runs as its own user and needs to reach its folder inside
const loadBefore = loadavg()
const results: EngineResult[] = []
try {
  const pglite = await openDatabase({ url: null, ssl: false, poolSize: 1, pgliteDir: join(dir, 'pglite') })
  try {
    results.push(await bench('PGlite (folder)', pglite, false))
  } finally {
    await pglite.close()
  }
  const { url } = await startPostgres(join(dir, 'postgres'), await freePort())
  const server = await openDatabase({ url, ssl: false, poolSize: 10, pgliteDir: 'unused' })
  try {
    results.push(await bench('PostgreSQL server', server, true))
  } finally {
    await server.close()
  }
  // Each backend reports its index use when it exits: read the totals once the pool is closed.
  await new Promise((r) => setTimeout(r, 1000))
  const stats = new pg.Client({ connectionString: url })
  await stats.connect()
  const { rows } = await stats.query(`select indexrelname as name, idx_scan::int as scans from pg_stat_user_indexes where relname = 'jobs' order by 1`)
  await stats.end()
  results.at(-1)!.indexScans = Object.fromEntries(rows.map((r) => [String(r.name), Number(r.scans)]))
} finally {
  await stopAll()
  await rm(dir, { recursive: true, force: true })
}
const loadAfter = loadavg()

// ---------------------------------------------------------------------------------------------

const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1))
const [lite, server] = results as [EngineResult, EngineResult]
const firstPagePlan = server.plans['first page (limit 20)']!
const usesHistoryIndex = /Index Scan Backward using jobs_owner_history/.test(firstPagePlan)
const firstPages = results.flatMap((r) => r.rows.filter((row) => row.name.startsWith('page: first')).map((row) => ({ engine: r.engine, ...row })))
const worstFirstP95 = Math.max(...firstPages.map((r) => r.stats.p95))
const row = (r: EngineResult, name: string) => r.rows.find((x) => x.name === name)!.stats
const heavyCreate = `createAll of 1 job, user with ${HEAVY} jobs`
const lightCreate = `createAll of 1 job, user with ${PER_USER} jobs`
const heavyCounts = `  its counts query alone, ${HEAVY} jobs`
const lightCounts = `  its counts query alone, ${PER_USER} jobs`
const splitCounts = `  counts split by index (not in server/), ${HEAVY} jobs`
const pgliteVersion = JSON.parse(readFileSync('node_modules/@electric-sql/pglite/package.json', 'utf8')).version as string
const cpu = cpus()
const date = new Date().toISOString().slice(0, 10)

const table = [
  `| query | ${results.map((r) => `${r.engine} p50 / p95 / max (ms)`).join(' | ')} |`,
  `|---|${results.map(() => '---').join('|')}|`,
  ...lite.rows.map(
    (x) =>
      `| ${x.name.startsWith('  ') ? `&nbsp;&nbsp;${x.name.trim()}` : x.name} | ${results
        .map((r) => {
          const s = r.rows.find((y) => y.name === x.name)?.stats
          return s ? `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.max)}` : 'n/a'
        })
        .join(' | ')} |`,
  ),
]

const report = `# Job history on the job database: ${HEAVY.toLocaleString('en')} jobs for one user (${date})

\`npx tsx bench/job-history.ts\` fills the \`jobs\` table of each engine with ${all.length.toLocaleString('en')} records shaped as
the API stores them (1-3 steps with outputs, ${avgBytes} bytes of JSON on average): one heavy user with
${HEAVY.toLocaleString('en')} jobs over a year and ${USERS} other users with ${PER_USER} each, ${UNFINISHED} of all of them unfinished
(queued or running, 10 of them the heavy user's). Then it times the repository's calls one after
the other (${WARMUP} warm-up calls, then ${REPS} timed ones each) through \`JobRepository\`, as the orchestrator calls
them: wall time in the Node process, driver and JSON parsing included.

- Engines: ${lite.engine}: PGlite ${pgliteVersion} (${lite.version}) in a temporary folder, as \`npm run dev\` keeps it;
  ${server.engine}: ${server.version} started by the bench on loopback (Debian's package, fsync off as
  in the tests), reached through a \`pg\` pool. Fill: ${lite.fillSeconds.toFixed(1)} s on PGlite, ${server.fillSeconds.toFixed(1)} s on the server.
- The server's table was \`VACUUM ANALYZE\`d after the fill (its autovacuum would do so within a minute); PGlite has no
  autovacuum and was left as \`npm run dev\` leaves it, without statistics.
- \`createAll\` creates one queued job (limits: 50 unfinished, 100,000 a minute, 100,000 stored; the default stored limit
  of 10,000 would refuse the heavy user) and the bench deletes it again, untimed, so the history stays at its size.
  The counts query is the \`select count(*) ... where owner_sub = $1\` that \`createAll\` runs in its transaction,
  timed on its own.
- Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'} (shared: other work was running), Node ${process.version};
  load average (1/5/15 min) ${loadBefore.map((l) => l.toFixed(2)).join(' / ')} at the start, ${loadAfter.map((l) => l.toFixed(2)).join(' / ')} at the end.

${table.join('\n')}

Target: the first page in < ${TARGET_MS} ms. Worst p95 of a first page (limit 20 or 100) on either engine: ${ms(worstFirstP95)} ms:
${worstFirstP95 < TARGET_MS ? '**met**' : '**not met**'}.

## The first page's plan on the server

${usesHistoryIndex ? 'It uses `jobs_owner_history`: a backward index scan' : '**It does not use `jobs_owner_history`.** An index on `(owner_sub, created_at desc, id desc)`, or the present one scanned backwards, is what the query needs'}
that stops after the page's rows. \`EXPLAIN (ANALYZE, BUFFERS)\` of the SQL that \`JobRepository.page\` sends (limit 20 asks for 21 rows):

\`\`\`
${firstPagePlan}
\`\`\`

${
  server.indexScans
    ? `Index scans on the server over the whole run (pg_stat_user_indexes): ${Object.entries(server.indexScans)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`
    : ''
}

## The counts in \`createAll\`

\`createAll\` first counted the user's whole history in one query (\`count(*)\` over all their rows, with filters for
the unfinished ones and the last minute), kept here for comparison as "its counts query alone": with ${HEAVY.toLocaleString('en')} jobs it takes
p50 ${ms(row(server, heavyCounts).p50)} ms on the server and ${ms(row(lite, heavyCounts).p50)} ms on PGlite, against ${ms(row(server, lightCounts).p50)} / ${ms(row(lite, lightCounts).p50)} ms for a user
with ${PER_USER}, linear in the history and paid under the user's lock:

\`\`\`
${server.plans[`createAll counts, user with ${HEAVY} jobs`]}
\`\`\`

Split by index, the stored count is what stays linear (p50 ${ms(row(server, splitCounts).p50)} ms on the server, ${ms(row(lite, splitCounts).p50)} ms on PGlite):

\`\`\`
${server.plans[`counts split by index, user with ${HEAVY} jobs`]}
\`\`\`

So the stored count is now a row of \`user_job_counts\`, moved in the transactions that insert and delete jobs (the
advisory lock already serialises them), and the two other figures come from their indexes (\`jobs_unfinished\`; a
last-minute range of \`jobs_owner_history\`). The whole \`createAll\` now takes p50 ${ms(row(server, heavyCreate).p50)} ms for the user with
${HEAVY.toLocaleString('en')} jobs vs ${ms(row(server, lightCreate).p50)} ms for one with ${PER_USER} on the server (${ms(row(lite, heavyCreate).p50)} vs ${ms(row(lite, lightCreate).p50)} ms on PGlite): it no longer grows with the history.

Not measured: concurrent users (one call at a time here), a cold cache, the network round trip to RDS (loopback here;
add it to every figure), a table of millions of rows (the plans above are what matters for that: they stop after the
page's rows).

## Other plans on the server

${Object.entries(server.plans)
  .filter(([name]) => name !== 'first page (limit 20)' && !name.startsWith('createAll') && !name.startsWith('counts split') && !name.startsWith('stored count'))
  .map(([name, plan]) => `${name}:\n\n\`\`\`\n${plan}\n\`\`\``)
  .join('\n\n')}

## PGlite's plans (no statistics)

${Object.entries(lite.plans)
  .map(([name, plan]) => `${name}:\n\n\`\`\`\n${plan}\n\`\`\``)
  .join('\n\n')}
`
writeFileSync(values.out!, report)
console.log(table.join('\n'))
console.log(`first page uses jobs_owner_history on the server: ${usesHistoryIndex}; worst first-page p95 ${ms(worstFirstP95)} ms`)
console.log(`wrote ${values.out}`)
clearTimeout(watchdog)
