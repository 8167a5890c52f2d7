import { and, asc, desc, eq, inArray, ne, sql } from 'drizzle-orm'
import type { JobView } from '../../contracts/api'
import type { Database } from '../db/database'
import { jobs, userJobCounts } from '../db/schema'

/** A job as stored: the public view plus what only the server needs. */
export interface JobRecord extends JobView {
  ownerSub: string
}

export interface JobRef {
  ownerSub: string
  id: string
}

/**
 * A job's blobs live under the owner's prefix in the blob store, so every lookup is scoped to
 * the signed-in user by construction; the record itself is a row of the job database.
 */
export const jobKeys = (ref: JobRef) => {
  const base = `users/${ref.ownerSub}/jobs/${ref.id}`
  return {
    base,
    record: `${base}/job.json`,
    input: `${base}/input`,
    mask: `${base}/mask`,
    stepOutput: (index: number) => `${base}/step-${index}`,
    /** A step's latest preview while it runs (a small JPEG of its output so far), replaced as new ones come; one key per step, so a late one from the step before cannot stand in for this one's. */
    preview: (index: number) => `${base}/preview-${index}`,
  }
}

/** The key of a job's final result: the last step's output. */
export const resultKey = (job: JobRecord) => jobKeys(job).stepOutput(job.steps.length - 1)

/** Per-user limits checked when jobs are created, in the same transaction that inserts them. */
export interface JobLimits {
  maxActive: number
  maxPerMinute: number
  maxStored: number
}

/** A user over one of their limits; the message says which and what to do. */
export class JobLimitError extends Error {}

/** A `jobs.list` cursor that no page of ours ever handed out. */
export class BadCursorError extends Error {}

const UNFINISHED = ['queued', 'running']
const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z)\|([A-Za-z0-9_-]{10,40})$/

const row = (job: JobRecord) => ({
  id: job.id,
  ownerSub: job.ownerSub,
  status: job.status,
  batchId: job.batchId,
  createdAt: job.createdAt,
  updatedAt: job.updatedAt,
  record: job,
})

/**
 * Job records in PostgreSQL (embedded PGlite locally, RDS in AWS). Every query is one indexed
 * lookup: by id, one history page, a user's unfinished jobs; nothing reads a whole history.
 */
export class JobRepository {
  /** Saves of one job run in order, so a late progress write never overwrites a final state. */
  private readonly pendingSaves = new Map<string, Promise<void>>()

  constructor(private readonly database: Promise<Database>) {}

  /**
   * Stores new jobs of one user if all of them fit the user's limits, else none. The user's
   * rows are locked for the transaction (an advisory lock on the user), so concurrent creates,
   * on this replica or another, are counted one after the other.
   */
  async createAll(ownerSub: string, records: JobRecord[], limits: JobLimits): Promise<void> {
    const db = await this.database
    await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${ownerSub}))`)
      // Each figure from its own index (unfinished jobs; the last minute of the history) or row.
      const [{ active }] = (await tx
        .select({ active: sql<number>`count(*)::int` })
        .from(jobs)
        .where(and(eq(jobs.ownerSub, ownerSub), inArray(jobs.status, UNFINISHED)))) as [{ active: number }]
      const [{ lastMinute, oldestInMinute }] = (await tx
        .select({ lastMinute: sql<number>`count(*)::int`, oldestInMinute: sql<string | null>`min(${jobs.createdAt})` })
        .from(jobs)
        .where(and(eq(jobs.ownerSub, ownerSub), sql`${jobs.createdAt} > now() - interval '1 minute'`))) as [
        { lastMinute: number; oldestInMinute: string | null },
      ]
      const [counter] = await tx.select({ storedJobs: userJobCounts.storedJobs }).from(userJobCounts).where(eq(userJobCounts.ownerSub, ownerSub))
      const stored = counter?.storedJobs ?? 0
      const n = records.length
      const batch = n > 1 ? ` This batch of ${n} would make ${active + n}.` : ''
      if (active + n > limits.maxActive)
        throw new JobLimitError(
          `You have ${active} unfinished job${active === 1 ? '' : 's'}; the limit is ${limits.maxActive}.${batch} Wait for some to finish.`,
        )
      if (lastMinute + n > limits.maxPerMinute) {
        const wait = oldestInMinute ? Math.max(1, Math.ceil(60 - (Date.now() - Date.parse(oldestInMinute)) / 1000)) : 60
        throw new JobLimitError(`You are creating jobs too fast (the limit is ${limits.maxPerMinute} a minute): retry in ${wait} s.`)
      }
      if (stored + n > limits.maxStored)
        throw new JobLimitError(`Your history holds ${stored} jobs; the limit is ${limits.maxStored}. Delete old jobs to make room.`)
      await tx.insert(jobs).values(records.map(row))
      await countStored(tx, ownerSub, n)
    })
  }

  /** Writes a stored job's current state. A cancel recorded meanwhile (by any replica) is never overwritten by a later save. */
  save(job: JobRecord): Promise<void> {
    job.updatedAt = new Date().toISOString()
    const snapshot = structuredClone(job)
    const previous = this.pendingSaves.get(job.id) ?? Promise.resolve()
    const next = previous
      .catch(() => {})
      .then(async () => {
        const db = await this.database
        // An update, never an insert: a job deleted meanwhile stays deleted.
        await db
          .update(jobs)
          .set({ status: snapshot.status, batchId: snapshot.batchId, updatedAt: snapshot.updatedAt, record: snapshot })
          .where(and(eq(jobs.id, snapshot.id), snapshot.status === 'cancelled' ? undefined : ne(jobs.status, 'cancelled')))
      })
    this.pendingSaves.set(job.id, next)
    void next.finally(() => this.pendingSaves.get(job.id) === next && this.pendingSaves.delete(job.id)).catch(() => {})
    return next
  }

  async get(ref: JobRef): Promise<JobRecord | null> {
    const db = await this.database
    const [found] = await db
      .select({ record: jobs.record })
      .from(jobs)
      .where(and(eq(jobs.id, ref.id), eq(jobs.ownerSub, ref.ownerSub)))
    return found?.record ?? null
  }

  /** Several of a user's jobs by id, in the order asked (ids not theirs, or gone, are left out). */
  async getMany(ownerSub: string, ids: readonly string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return []
    const db = await this.database
    const rows = await db
      .select({ record: jobs.record })
      .from(jobs)
      .where(and(eq(jobs.ownerSub, ownerSub), inArray(jobs.id, [...ids])))
    const byId = new Map(rows.map((r) => [r.record.id, r.record]))
    return ids.flatMap((id) => byId.get(id) ?? [])
  }

  /**
   * One page of a user's history, newest first (or oldest first), optionally only the jobs whose
   * file name contains `search` (any case) or of one status. The cursor names the last job shown
   * (its time and id), and the next page starts strictly after it, so deleting that job skips nothing.
   */
  async page(
    ownerSub: string,
    {
      limit,
      cursor,
      search,
      status,
      order = 'newest',
    }: { limit: number; cursor?: string | null; search?: string | null; status?: JobRecord['status'] | null; order?: 'newest' | 'oldest' },
  ): Promise<{ items: JobRecord[]; nextCursor: string | null }> {
    const conditions = [eq(jobs.ownerSub, ownerSub)]
    if (cursor) {
      const match = CURSOR.exec(cursor)
      if (!match) throw new BadCursorError('That page cursor is not one we handed out; start from the first page.')
      conditions.push(
        order === 'newest'
          ? sql`(${jobs.createdAt}, ${jobs.id}) < (${match[1]}::timestamptz, ${match[2]})`
          : sql`(${jobs.createdAt}, ${jobs.id}) > (${match[1]}::timestamptz, ${match[2]})`,
      )
    }
    // The name as a literal: LIKE's own wildcards in it are escaped.
    if (search) conditions.push(sql`${jobs.record}->>'inputName' ilike ${`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`)
    if (status) conditions.push(eq(jobs.status, status))
    const db = await this.database
    const rows = await db
      .select({ record: jobs.record })
      .from(jobs)
      .where(and(...conditions))
      .orderBy(...(order === 'newest' ? [desc(jobs.createdAt), desc(jobs.id)] : [asc(jobs.createdAt), asc(jobs.id)]))
      .limit(limit + 1)
    const items = rows.slice(0, limit).map((r) => r.record)
    const last = items.at(-1)
    return { items, nextCursor: rows.length > limit && last ? `${last.createdAt}|${last.id}` : null }
  }

  /** Every unfinished job of every user, for recovery after a restart. */
  async listUnfinished(): Promise<JobRecord[]> {
    const db = await this.database
    return (await db.select({ record: jobs.record }).from(jobs).where(inArray(jobs.status, UNFINISHED))).map((r) => r.record)
  }

  async delete(ref: JobRef): Promise<void> {
    const db = await this.database
    await db.transaction(async (tx) => {
      const deleted = await tx
        .delete(jobs)
        .where(and(eq(jobs.id, ref.id), eq(jobs.ownerSub, ref.ownerSub)))
        .returning({ id: jobs.id })
      if (deleted.length > 0) await countStored(tx, ref.ownerSub, -deleted.length)
    })
  }

  /** Adds records kept elsewhere (the JSON files of the old store); ones already here are left as they are. Returns how many were new. */
  async importRecords(records: JobRecord[]): Promise<number> {
    if (records.length === 0) return 0
    const db = await this.database
    return db.transaction(async (tx) => {
      const inserted = await tx.insert(jobs).values(records.map(row)).onConflictDoNothing({ target: jobs.id }).returning({ ownerSub: jobs.ownerSub })
      const perOwner = new Map<string, number>()
      for (const { ownerSub } of inserted) perOwner.set(ownerSub, (perOwner.get(ownerSub) ?? 0) + 1)
      for (const [ownerSub, n] of perOwner) await countStored(tx, ownerSub, n)
      return inserted.length
    })
  }
}

/** Moves a user's stored-jobs count by `delta`, inside the transaction that inserted or deleted them. */
async function countStored(tx: Pick<Database, 'insert'>, ownerSub: string, delta: number) {
  await tx
    .insert(userJobCounts)
    .values({ ownerSub, storedJobs: Math.max(0, delta) })
    .onConflictDoUpdate({ target: userJobCounts.ownerSub, set: { storedJobs: sql`greatest(0, ${userJobCounts.storedJobs} + ${delta})` } })
}

export function toView(job: JobRecord): JobView {
  const { ownerSub: _owner, ...view } = job
  return view
}
