import { createError, defineEventHandler, getQuery, getRouterParams, setResponseHeaders } from 'h3'
import { useApp } from '../../../app'
import { cookieUser } from '../../../auth/cookie-user'
import { ConversionBusyError, derivedKey, FORMATS, useConversions, type Derivation, type Format } from '../../../images/conversions'
import { jobKeys, resultKey } from '../../../jobs/repository'
import { sizeSuffix } from '../../../../contracts/service'

/**
 * Streams a job's input, result or running step's preview to its owner; the page's <img> tags and downloads use it.
 * `?format=jpeg|webp|png&quality=1..100` converts (EXIF orientation applied, alpha flattened for
 * JPEG), `?thumb` answers a small WebP for lists, `?download` makes it an attachment.
 */
export default defineEventHandler(async (event) => {
  const app = useApp()
  const { id, file } = getRouterParams(event)
  if (!id || !/^[A-Za-z0-9_-]{10,40}$/.test(id) || (file !== 'input' && file !== 'result' && file !== 'preview'))
    throw createError({ statusCode: 404, statusMessage: 'Not found' })
  const query = getQuery(event)
  const format = query.format === undefined ? null : String(query.format)
  if (format !== null && !(format in FORMATS)) throw createError({ statusCode: 400, statusMessage: 'format must be png, jpeg or webp' })
  const quality = query.quality === undefined ? 90 : Number(query.quality)
  if (!Number.isInteger(quality) || quality < 1 || quality > 100)
    throw createError({ statusCode: 400, statusMessage: 'quality must be a whole number from 1 to 100' })
  const thumb = query.thumb !== undefined

  const user = await cookieUser(app, event)
  const job = await app.jobs.get({ ownerSub: user.sub, id })
  if (!job) throw createError({ statusCode: 404, statusMessage: 'Not found' })
  const sourceKey = file === 'input' ? jobKeys(job).input : file === 'preview' ? jobKeys(job).preview(job.currentStep) : resultKey(job)
  if (file === 'preview' && (thumb || format)) throw createError({ statusCode: 400, statusMessage: 'a preview comes as it is' })

  let object
  if (thumb || format) {
    // Converted under a process-wide limit, once: later requests get the stored copy (server/images/conversions.ts).
    const derivation: Derivation = thumb ? { kind: 'thumb' } : { kind: 'format', format: format as Format, quality }
    const facts = file === 'input' ? job.input : job.output
    try {
      object = await useConversions(app).derive({
        key: derivedKey(jobKeys(job).base, file, derivation),
        sourceKey,
        derivation,
        pixels: facts ? facts.width * facts.height : null,
      })
    } catch (error) {
      if (!(error instanceof ConversionBusyError)) throw error
      setResponseHeaders(event, { 'retry-after': error.retryAfterSeconds })
      throw createError({ statusCode: 503, statusMessage: error.message })
    }
  } else object = await app.store.get(sourceKey)
  if (!object) throw createError({ statusCode: 404, statusMessage: 'Not found' })
  const data: Uint8Array = object.data
  const contentType = object.contentType

  const headers: Record<string, string> = {
    'content-type': contentType,
    'content-length': String(data.length),
    // A preview is replaced while the job runs (the page asks with ?at=<tiles done>); the files stay as they are.
    'cache-control': file === 'preview' ? 'private, no-store' : 'private, max-age=3600',
    'x-content-type-options': 'nosniff',
  }
  if (query.download !== undefined) {
    const stem = job.inputName.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_') || 'image'
    const extension = format === 'jpeg' ? 'jpg' : (format ?? 'png')
    const name =
      file === 'result'
        ? `${stem}-${job.steps.map((s) => [s.spec.model, sizeSuffix(s.spec.options)].filter(Boolean).join('-')).join('-')}.${extension}`
        : format
          ? `${stem}.${extension}`
          : job.inputName.replace(/[^\w.-]+/g, '_')
    headers['content-disposition'] = `attachment; filename="${name}"`
  }
  setResponseHeaders(event, headers)
  return data
})
