import { parse, serialize } from 'cookie-es'
import type { Tokens } from './cognito'
import type { SessionCookies } from '../trpc/init'

export const ACCESS_COOKIE = 'rs_access'
export const REFRESH_COOKIE = 'rs_refresh'
const REFRESH_MAX_AGE = 30 * 24 * 3600

/**
 * Tokens live in httpOnly cookies, never in page JavaScript. SameSite=Lax keeps other sites'
 * forms and scripts from riding on them; Secure everywhere but plain-http localhost.
 */
export function cookieSession(cookieHeader: string | null, resHeaders: Headers, requestUrl: string): SessionCookies {
  const cookies = parse(cookieHeader ?? '')
  const url = new URL(requestUrl)
  const secure = url.protocol === 'https:' || !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  const base = { httpOnly: true, sameSite: 'lax' as const, secure, path: '/' }
  const session: SessionCookies = {
    accessToken: cookies[ACCESS_COOKIE] || null,
    refreshToken: cookies[REFRESH_COOKIE] || null,
    setTokens(tokens: Tokens) {
      session.accessToken = tokens.accessToken
      resHeaders.append('set-cookie', serialize(ACCESS_COOKIE, tokens.accessToken, { ...base, maxAge: tokens.expiresIn }))
      if (tokens.refreshToken) {
        session.refreshToken = tokens.refreshToken
        resHeaders.append('set-cookie', serialize(REFRESH_COOKIE, tokens.refreshToken, { ...base, maxAge: REFRESH_MAX_AGE }))
      }
    },
    clear() {
      session.accessToken = null
      session.refreshToken = null
      resHeaders.append('set-cookie', serialize(ACCESS_COOKIE, '', { ...base, maxAge: 0 }))
      resHeaders.append('set-cookie', serialize(REFRESH_COOKIE, '', { ...base, maxAge: 0 }))
    },
  }
  return session
}
