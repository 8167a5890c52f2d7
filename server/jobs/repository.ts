import type { JobView } from '../../contracts/api'
import type { BlobStore } from '../storage/store'

/** A job as stored: the public view plus what only the server needs. */
export interface JobRecord extends JobView {
  ownerSub: string
}

export interface JobRef {
  ownerSub: string
  id: string
}

/**
 * Jobs and their files live under the owner's prefix, so every lookup is scoped to the
 * signed-in user by construction: another user's job id simply does not resolve.
 */
export const jobKeys = (ref: JobRef) => {
  const base = `users/${ref.ownerSub}/jobs/${ref.id}`
  return { base, record: `${base}/job.json`, input: `${base}/input`, mask: `${base}/mask`, stepOutput: (index: number) => `${base}/step-${index}` }
}

/** The key of a job's final result: the last step's output. */
export const resultKey = (job: JobRecord) => jobKeys(job).stepOutput(job.steps.length - 1)

export class JobRepository {
  /** Saves of one job run in order, so a late progress write never overwrites a final state. */
  private readonly pendingSaves = new Map<string, Promise<void>>()

  constructor(private readonly store: BlobStore) {}

  save(job: JobRecord): Promise<void> {
    job.updatedAt = new Date().toISOString()
    const body = Buffer.from(JSON.stringify(job))
    const key = jobKeys(job).record
    const previous = this.pendingSaves.get(key) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(() => this.store.put(key, body, 'application/json'))
    this.pendingSaves.set(key, next)
    void next.finally(() => this.pendingSaves.get(key) === next && this.pendingSaves.delete(key)).catch(() => {})
    return next
  }

  async get(ref: JobRef): Promise<JobRecord | null> {
    const found = await this.store.get(jobKeys(ref).record)
    return found ? (JSON.parse(found.data.toString('utf8')) as JobRecord) : null
  }

  async listForUser(ownerSub: string): Promise<JobRecord[]> {
    const keys = (await this.store.list(`users/${ownerSub}/jobs`)).filter((k) => k.endsWith('/job.json'))
    const jobs = await Promise.all(keys.map(async (k) => this.get({ ownerSub, id: k.split('/').at(-2)! })))
    return jobs.filter((j): j is JobRecord => j !== null).sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  }

  /** Every unfinished job of every user, for recovery after a restart. */
  async listUnfinished(): Promise<JobRecord[]> {
    const keys = (await this.store.list('users')).filter((k) => k.endsWith('/job.json'))
    const jobs = await Promise.all(keys.map(async (k) => this.get({ ownerSub: k.split('/')[1]!, id: k.split('/').at(-2)! })))
    return jobs.filter((j): j is JobRecord => j !== null && (j.status === 'queued' || j.status === 'running'))
  }
}

export function toView(job: JobRecord): JobView {
  const { ownerSub: _owner, ...view } = job
  return view
}
