import { createApp } from '../../server/app'
import { loadConfig } from '../../server/config'
import { createCallerFactory, type SessionCookies } from '../../server/trpc/init'
import { appRouter } from '../../server/trpc/routers'
import { stackEnv } from './auth'

/** The real router against the real Cognito emulator, store and upscale service; only HTTP is skipped. */
export function createTestApp(overrides: Record<string, string> = {}, parts: Parameters<typeof createApp>[1] = {}) {
  return createApp(loadConfig({ ...stackEnv(), ...overrides }), parts)
}

/** A browser-like session: cookies set by one call are sent with the next. */
export function createSession(): SessionCookies {
  const session: SessionCookies = {
    accessToken: null,
    refreshToken: null,
    setTokens(tokens) {
      session.accessToken = tokens.accessToken
      if (tokens.refreshToken) session.refreshToken = tokens.refreshToken
    },
    clear() {
      session.accessToken = null
      session.refreshToken = null
    },
  }
  return session
}

const factory = createCallerFactory(appRouter)

export function callerFor(app: ReturnType<typeof createTestApp>, session = createSession()) {
  return { caller: factory({ app, session, requestId: 'test', clientIp: '127.0.0.1' }), session }
}
