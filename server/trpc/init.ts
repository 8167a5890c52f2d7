import { initTRPC, TRPCError } from '@trpc/server'
import { ZodError } from 'zod'
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
  /** The caller's address: the socket's peer, or what the outermost trusted proxy saw (server/http/client-address.ts). */
  clientIp: string
}

/** A schema's complaints as one sentence a person can read ("steps: A pipeline has at most 5 steps."). */
export function readableIssues(error: ZodError): string {
  const sentences = error.issues.map((issue) => {
    const field = issue.path.map(String).join('.')
    const message = issue.message.replace(/\.?$/, '.')
    // Our own messages are whole sentences; zod's defaults ("Invalid input") need the field's name.
    return field && !/^[A-Z].*\.$/.test(issue.message) ? `${field}: ${message}` : message
  })
  return [...new Set(sentences)].join(' ')
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    if (error.code === 'BAD_REQUEST' && error.cause instanceof ZodError) return { ...shape, message: readableIssues(error.cause) }
    // Internal errors keep their details in the logs, not in the page.
    if (error.code === 'INTERNAL_SERVER_ERROR' && !(error.cause instanceof TRPCError))
      return { ...shape, message: error.message.startsWith('The ') ? error.message : 'Something went wrong on our side; the error was logged.' }
    return shape
  },
})

/**
 * Limits attempts per account and per client address: a guessed password costs minutes, not
 * milliseconds, while a user who signs in correctly is never slowed down. Each attempt holds its
 * hit while Cognito checks it and gives it back only on success, so attempts sent at once (a
 * batch, parallel connections) count before any of their answers is known.
 */
export async function limitAuthAttempts<T>(ctx: Context, email: string, attempt: () => Promise<T>): Promise<T> {
  const account = ctx.app.authRate.reserve(`account:${email.toLowerCase()}`)
  const address = account.wait > 0 ? account : ctx.app.authAddressRate.reserve(`address:${ctx.clientIp}`)
  const wait = Math.max(account.wait, address.wait)
  if (wait > 0) {
    account.release()
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many attempts: try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.` })
  }
  let result: T
  try {
    result = await attempt()
  } catch (error) {
    // Only a wrong password or code keeps its hit; a failure on our side (Cognito down) is not the user's.
    if (!(error instanceof TRPCError && (error.code === 'UNAUTHORIZED' || error.code === 'BAD_REQUEST'))) account.release(), address.release()
    throw error
  }
  account.release()
  address.release()
  return result
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
