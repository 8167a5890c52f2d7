import { initTRPC, TRPCError } from '@trpc/server'
import { InvalidTokenError } from '../../lib/auth/access-token'
import type { App } from '../app'
import type { Tokens } from '../auth/cognito'

/** How a procedure reads and writes the session cookies; the HTTP handler and tests each provide one. */
export interface SessionCookies {
  accessToken: string | null
  refreshToken: string | null
  setTokens(tokens: Tokens): void
  clear(): void
}

export interface Context {
  app: App
  session: SessionCookies
  requestId: string
  /** The caller's address (first X-Forwarded-For hop behind the load balancer). */
  clientIp: string
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    // Internal errors keep their details in the logs, not in the page.
    if (error.code === 'INTERNAL_SERVER_ERROR' && !(error.cause instanceof TRPCError)) return { ...shape, message: error.message.startsWith('The ') ? error.message : 'Something went wrong on our side; the error was logged.' }
    return shape
  },
})

/**
 * Limits failed attempts per email and address: a guessed password costs minutes, not
 * milliseconds, while a user who signs in correctly is never slowed down.
 */
export async function limitAuthAttempts<T>(ctx: Context, email: string, attempt: () => Promise<T>): Promise<T> {
  const key = `${email.toLowerCase()}|${ctx.clientIp}`
  const wait = ctx.app.authRate.wait(key)
  if (wait > 0) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many attempts: try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.` })
  try {
    return await attempt()
  } catch (error) {
    if (error instanceof TRPCError && (error.code === 'UNAUTHORIZED' || error.code === 'BAD_REQUEST')) ctx.app.authRate.record(key)
    throw error
  }
}

export const router = t.router
export const publicProcedure = t.procedure
export const createCallerFactory = t.createCallerFactory

/** Requires a valid Cognito access token; refreshes it once from the refresh token if it expired. */
export const protectedProcedure = t.procedure.use(async ({ ctx, next }) => {
  const { app, session } = ctx
  let accessToken = session.accessToken
  let user
  try {
    user = await app.verifyAccessToken(accessToken)
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error
    if (!session.refreshToken) throw new TRPCError({ code: 'UNAUTHORIZED', message: accessToken ? error.message : 'Sign in to continue.' })
    try {
      const tokens = await app.auth.refresh(session.refreshToken)
      session.setTokens(tokens)
      accessToken = tokens.accessToken
      user = await app.verifyAccessToken(accessToken)
    } catch {
      session.clear()
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Your session has expired: sign in again.' })
    }
  }
  return next({ ctx: { ...ctx, user, accessToken: accessToken! } })
})
