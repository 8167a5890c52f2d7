import { createError, defineEventHandler, getCookie, getQuery, getRouterParams, setResponseHeaders } from 'h3'
import sharp from 'sharp'
import { InvalidTokenError } from '../../../../lib/auth/access-token'
import { useApp } from '../../../app'
import { ACCESS_COOKIE } from '../../../auth/session-cookies'
import { jobKeys, resultKey } from '../../../jobs/repository'

const FORMATS = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const
type Format = keyof typeof FORMATS
/** Longest side of a history thumbnail, in pixels. */
const THUMB_SIZE = 320

/**
 * Streams a job's input or result to its owner; the page's <img> tags and downloads use it.
 * `?format=jpeg|webp|png&quality=1..100` converts (EXIF orientation applied, alpha flattened for
 * JPEG), `?thumb` answers a small WebP for lists, `?download` makes it an attachment.
 */
export default defineEventHandler(async (event) => {
  const app = useApp()
  const { id, file } = getRouterParams(event)
  if (!id || !/^[A-Za-z0-9_-]{10,40}$/.test(id) || (file !== 'input' && file !== 'result')) throw createError({ statusCode: 404, statusMessage: 'Not found' })
  const query = getQuery(event)
  const format = query.format === undefined ? null : String(query.format)
  if (format !== null && !(format in FORMATS)) throw createError({ statusCode: 400, statusMessage: 'format must be png, jpeg or webp' })
  const quality = query.quality === undefined ? 90 : Number(query.quality)
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw createError({ statusCode: 400, statusMessage: 'quality must be a whole number from 1 to 100' })
  const thumb = query.thumb !== undefined

  let user
  try {
    user = await app.verifyAccessToken(getCookie(event, ACCESS_COOKIE))
  } catch (error) {
    if (error instanceof InvalidTokenError) throw createError({ statusCode: 401, statusMessage: error.message })
    throw error
  }
  const job = await app.jobs.get({ ownerSub: user.sub, id })
  const object = job && (await app.store.get(file === 'input' ? jobKeys(job).input : resultKey(job)))
  if (!job || !object) throw createError({ statusCode: 404, statusMessage: 'Not found' })

  let data: Uint8Array = object.data
  let contentType = object.contentType
  if (thumb || format) {
    const target: Format = thumb ? 'webp' : (format as Format)
    // The stored images already passed the upload limits, so decoding them here is bounded.
    let pipeline = sharp(object.data, { limitInputPixels: false }).rotate()
    if (thumb) pipeline = pipeline.resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
    if (target === 'jpeg') pipeline = pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: thumb ? 70 : quality, mozjpeg: true })
    else if (target === 'webp') pipeline = pipeline.webp({ quality: thumb ? 70 : quality })
    else pipeline = pipeline.png()
    data = new Uint8Array(await pipeline.toBuffer())
    contentType = FORMATS[target]
  }

  const headers: Record<string, string> = {
    'content-type': contentType,
    'content-length': String(data.length),
    'cache-control': 'private, max-age=3600',
    'x-content-type-options': 'nosniff',
  }
  if (query.download !== undefined) {
    const stem = job.inputName.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_') || 'image'
    const extension = format === 'jpeg' ? 'jpg' : (format ?? 'png')
    const name =
      file === 'result'
        ? `${stem}-${job.steps.map((s) => (s.spec.scale > 1 ? `${s.spec.model}-x${s.spec.scale}` : s.spec.model)).join('-')}.${extension}`
        : format
          ? `${stem}.${extension}`
          : job.inputName.replace(/[^\w.-]+/g, '_')
    headers['content-disposition'] = `attachment; filename="${name}"`
  }
  setResponseHeaders(event, headers)
  return data
})
