import { createError, defineEventHandler, getRequestHeader, getRequestHost } from 'h3'

/**
 * Mutations carry cookies, so a request from another site must not reach them. SameSite=Lax
 * already keeps cookies off cross-site POSTs; this refuses any state-changing request whose
 * Origin names another host, as defence in depth (and for old browsers).
 */
export default defineEventHandler((event) => {
  if (event.method === 'GET' || event.method === 'HEAD' || event.method === 'OPTIONS') return
  const origin = getRequestHeader(event, 'origin')
  if (!origin) return // non-browser clients (CLI, tests) send none
  let originHost: string
  try {
    originHost = new URL(origin).host
  } catch {
    throw createError({ statusCode: 403, statusMessage: 'Cross-site request refused.' })
  }
  if (originHost !== getRequestHost(event, { xForwardedHost: true })) throw createError({ statusCode: 403, statusMessage: 'Cross-site request refused.' })
})
