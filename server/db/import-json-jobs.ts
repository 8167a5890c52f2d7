import type { JobRecord, JobRepository } from '../jobs/repository'
import type { BlobStore } from '../storage/store'

/**
 * Moves a deployment from job records kept as JSON objects in the blob store
 * (`users/<sub>/jobs/<id>/job.json`, before the job database) into the database. Idempotent: a
 * record already there is left as it is, so the import can run again, or while jobs run.
 */
export async function importJsonJobs(store: BlobStore, repository: JobRepository, onProgress: (done: number, total: number) => void = () => {}) {
  const keys = (await store.list('users')).filter((key) => /^users\/[^/]+\/jobs\/[^/]+\/job\.json$/.test(key))
  let imported = 0
  let unreadable = 0
  // In slices: a store with thousands of records is neither read at once nor inserted row by row.
  for (let start = 0; start < keys.length; start += 200) {
    const records: JobRecord[] = []
    for (const key of keys.slice(start, start + 200)) {
      const object = await store.get(key)
      try {
        const record = JSON.parse(object!.data.toString('utf8')) as JobRecord
        if (typeof record.id !== 'string' || record.ownerSub !== key.split('/')[1]) throw new Error('not a job record of this folder')
        records.push(withStepOptions(record))
      } catch {
        unreadable++
      }
    }
    imported += await repository.importRecords(records)
    onProgress(Math.min(keys.length, start + 200), keys.length)
  }
  return { found: keys.length, imported, alreadyThere: keys.length - imported - unreadable, unreadable }
}

/**
 * Records from before steps had options (as migration 0002_step_options.sql does for rows already
 * in the database): a step's `scale` moves into `options.scale`, the job-wide `maskMode` into the
 * options of the remove-text steps, the only ones that read it.
 */
export function withStepOptions(record: JobRecord): JobRecord {
  const legacy = record as JobRecord & { maskMode?: string }
  if (record.steps.every((step) => 'options' in step.spec)) return record
  const { maskMode, ...rest } = legacy
  const steps = record.steps.map((step) => {
    const { scale, ...spec } = step.spec as typeof step.spec & { scale?: number }
    const options: Record<string, string | number> = spec.task === 'remove-text' ? { maskMode: maskMode ?? 'both' } : scale && scale !== 1 ? { scale } : {}
    return { ...step, spec: { ...spec, options } }
  })
  return { ...rest, steps }
}
