import { createError, getCookie, type H3Event } from 'h3'
import { InvalidTokenError } from '../../lib/auth/access-token'
import type { App } from '../app'
import { ACCESS_COOKIE } from './session-cookies'

/**
 * The signed-in user of a plain HTTP route (images, downloads: what <img> tags and links fetch,
 * outside tRPC), from the access cookie; a missing, expired or revoked token is a 401.
 */
export async function cookieUser(app: App, event: H3Event) {
  try {
    return await app.verifyAccessToken(getCookie(event, ACCESS_COOKIE))
  } catch (error) {
    if (error instanceof InvalidTokenError) throw createError({ statusCode: 401, statusMessage: error.message })
    throw error
  }
}
