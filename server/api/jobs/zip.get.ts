import { createError, defineEventHandler, getQuery, setResponseHeaders } from 'h3'
import { Zip, ZipPassThrough } from 'fflate'
import { MAX_BATCH_IMAGES } from '../../../contracts/api'
import { sizeSuffix } from '../../../contracts/service'
import { useApp } from '../../app'
import { cookieUser } from '../../auth/cookie-user'
import { resultKey } from '../../jobs/repository'

/**
 * The results of several of the user's jobs as one ZIP (a batch's "Download all"): `?ids=a,b,c`,
 * up to two batches' worth. Only finished results go in, stored as they are (PNGs are compressed
 * already), each named as its own download is; the archive streams one result at a time, so a
 * batch of large results never sits in memory whole.
 */
export default defineEventHandler(async (event) => {
  const app = useApp()
  const ids = String(getQuery(event).ids ?? '')
    .split(',')
    .filter(Boolean)
  if (ids.length === 0 || ids.length > MAX_BATCH_IMAGES * 2 || !ids.every((id) => /^[A-Za-z0-9_-]{10,40}$/.test(id)))
    throw createError({ statusCode: 400, statusMessage: `ids must be 1 to ${MAX_BATCH_IMAGES * 2} job ids, comma-separated` })
  const user = await cookieUser(app, event)
  const done = (await app.jobs.getMany(user.sub, ids)).filter((job) => job.status === 'succeeded')
  if (done.length === 0) throw createError({ statusCode: 404, statusMessage: 'None of these jobs has a result yet.' })

  // One name per result, as its own download is named; a name taken twice gets a number.
  const taken = new Set<string>()
  const nameOf = (job: (typeof done)[number]) => {
    const stem = job.inputName.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_') || 'image'
    const base = `${stem}-${job.steps.map((s) => [s.spec.model, sizeSuffix(s.spec.options)].filter(Boolean).join('-')).join('-')}`
    let name = `${base}.png`
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}.png`
    taken.add(name)
    return name
  }

  setResponseHeaders(event, {
    'content-type': 'application/zip',
    'content-disposition': `attachment; filename="restora-${done.length}-photos.zip"`,
    'cache-control': 'private, no-store',
    'x-content-type-options': 'nosniff',
  })
  // Pulled one result at a time: the next is read from the store only when the client has taken the last.
  const queue = [...done]
  let zip: Zip
  return new ReadableStream<Uint8Array>({
    start(controller) {
      zip = new Zip((error, chunk, final) => {
        if (error) return controller.error(error)
        controller.enqueue(chunk)
        if (final) controller.close()
      })
    },
    async pull() {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const object = await app.store.get(resultKey(job))
        if (!object) continue // deleted meanwhile
        const entry = new ZipPassThrough(nameOf(job))
        zip.add(entry)
        entry.push(new Uint8Array(object.data), true)
        return
      }
      zip.end()
    },
  })
})
