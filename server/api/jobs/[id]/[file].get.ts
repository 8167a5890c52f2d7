import { createError, defineEventHandler, getCookie, getQuery, getRouterParams, setResponseHeaders } from 'h3'
import { InvalidTokenError } from '../../../../lib/auth/access-token'
import { useApp } from '../../../app'
import { ACCESS_COOKIE } from '../../../auth/session-cookies'
import { jobKeys, resultKey } from '../../../jobs/repository'

/** Streams a job's input or result to its owner; the page's <img> tags and downloads use it. */
export default defineEventHandler(async (event) => {
  const app = useApp()
  const { id, file } = getRouterParams(event)
  if (!id || !/^[A-Za-z0-9_-]{10,40}$/.test(id) || (file !== 'input' && file !== 'result')) throw createError({ statusCode: 404, statusMessage: 'Not found' })
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
  const headers: Record<string, string> = {
    'content-type': object.contentType,
    'content-length': String(object.data.length),
    'cache-control': 'private, max-age=3600',
    'x-content-type-options': 'nosniff',
  }
  if (getQuery(event).download !== undefined) {
    const stem = job.inputName.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_') || 'image'
    const name = file === 'result' ? `${stem}-${job.steps.map((s) => (s.spec.scale > 1 ? `${s.spec.model}-x${s.spec.scale}` : s.spec.model)).join('-')}.png` : job.inputName.replace(/[^\w.-]+/g, '_')
    headers['content-disposition'] = `attachment; filename="${name}"`
  }
  setResponseHeaders(event, headers)
  return object.data
})
