import { randomUUID } from 'node:crypto'
import { TRPCError } from '@trpc/server'
import { and, count, eq, lt, sql, type SQL } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startNitroRoutes } from '../helpers/nitro-server'
import { InvalidTokenError } from '../../lib/auth/access-token'
import type { App } from '../../server/app'
import { DatabaseRevocations, SWEEP_BATCH } from '../../server/auth/revocations'
import { ACCESS_COOKIE } from '../../server/auth/session-cookies'
import { openDatabase, type OpenDatabase } from '../../server/db/database'
import { revokedTokens, sessionCutoffs } from '../../server/db/schema'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { forgedAccessToken, stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'

/**
 * Signing out ends the session everywhere the orchestrator can see it: the access token kept aside
 * by a thief is refused from then on (not only after its 24 h locally, 60 min in AWS), by every
 * replica sharing the job database, and "sign out everywhere" does the same for every session of the user.
 */
const app = createTestApp()

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TRPCError)
  return error as TRPCError
}

async function newAccount(on: App = app) {
  const email = `signout-${randomUUID().slice(0, 8)}@example.com`
  const password = 'a-long-password'
  const first = callerFor(on)
  await first.caller.auth.signUp({ email, password })
  return { email, password, ...first }
}

async function signIn(email: string, password: string, on: App = app) {
  const user = callerFor(on)
  await user.caller.auth.signIn({ email, password })
  return user
}

/** A session that holds only the given tokens, as a browser (or a thief) with those cookies would. */
function withTokens(tokens: { accessToken?: string | null; refreshToken?: string | null }, on: App = app) {
  const user = callerFor(on)
  user.session.accessToken = tokens.accessToken ?? null
  user.session.refreshToken = tokens.refreshToken ?? null
  return user
}

let base: string
let nitro: Awaited<ReturnType<typeof startNitroRoutes>>
beforeAll(async () => {
  // The image route reads the process-wide app (useApp), built from the environment: another
  // replica on the same database as `app`.
  nitro = await startNitroRoutes()
  base = nitro.base
})
afterAll(() => nitro?.close())

/** The image route's answer for a job that does not exist: 404 with a good token, 401 without. */
async function imageStatus(accessToken: string) {
  const response = await fetch(`${base}/api/jobs/${randomUUID()}/result`, { headers: { cookie: `${ACCESS_COOKIE}=${accessToken}` } })
  return { status: response.status, text: await response.text() }
}

describe('auth.signOut', () => {
  it('refuses the old access token afterwards, in procedures and the image route', async () => {
    const { caller, session } = await newAccount()
    const old = session.accessToken!
    expect((await withTokens({ accessToken: old }).caller.jobs.list({})).items).toEqual([])

    await caller.auth.signOut()

    const refused = await rejection(withTokens({ accessToken: old }).caller.jobs.list({}))
    expect(refused.code).toBe('UNAUTHORIZED')
    expect(refused.message).toMatch(/signed out/i)
    expect((await rejection(withTokens({ accessToken: old }).caller.auth.me())).code).toBe('UNAUTHORIZED')
    const image = await imageStatus(old)
    expect(image.status).toBe(401)
    expect(image.text).toMatch(/signed out/i)
  })

  it('is refused by another replica on the same database, at once when it had not seen the token', async () => {
    const { caller, session } = await newAccount()
    const old = session.accessToken!
    await caller.auth.signOut()
    const replica = createTestApp()
    expect((await rejection(withTokens({ accessToken: old }, replica).caller.jobs.list({}))).code).toBe('UNAUTHORIZED')
  })

  it('is refused at once by another replica that accepted the token a moment before (nothing cached)', async () => {
    const { caller, session } = await newAccount()
    const old = session.accessToken!
    const replica = createTestApp()
    expect((await withTokens({ accessToken: old }, replica).caller.jobs.list({})).items).toEqual([])
    await caller.auth.signOut()
    const refused = await rejection(withTokens({ accessToken: old }, replica).caller.jobs.list({}))
    expect(refused.code).toBe('UNAUTHORIZED')
    expect(refused.message).toMatch(/signed out/i)
  })

  it("leaves the same user's other sessions and other users alone", async () => {
    const { email, password, caller } = await newAccount()
    const other = await signIn(email, password)
    const demo = await signIn(DEMO_USER.email, DEMO_USER.password)
    await caller.auth.signOut()
    expect((await other.caller.auth.me()).email).toBe(email)
    expect((await demo.caller.auth.me()).email).toBe(DEMO_USER.email)
  })

  it('answers signed out whatever the cookies hold (none, forged, already signed out)', async () => {
    expect(await callerFor(app).caller.auth.signOut()).toEqual({ signedIn: false })
    const forged = withTokens({ accessToken: await forgedAccessToken(), refreshToken: 'not-a-token' })
    expect(await forged.caller.auth.signOut()).toEqual({ signedIn: false })
    expect(forged.session.accessToken).toBeNull()
    const { caller, session } = await newAccount()
    const old = { accessToken: session.accessToken, refreshToken: session.refreshToken }
    await caller.auth.signOut()
    expect(await withTokens(old).caller.auth.signOut()).toEqual({ signedIn: false })
  })
})

describe('auth.signOutEverywhere', () => {
  it('ends every session of the user: access and refresh tokens, on every replica', async () => {
    const { email, password, caller, session } = await newAccount()
    const elsewhere = await signIn(email, password)
    const kept = { accessToken: elsewhere.session.accessToken, refreshToken: elsewhere.session.refreshToken }
    const mine = { accessToken: session.accessToken, refreshToken: session.refreshToken }
    const demo = await signIn(DEMO_USER.email, DEMO_USER.password)

    expect(await caller.auth.signOutEverywhere()).toMatchObject({ signedIn: false })
    expect(session.accessToken).toBeNull()
    expect(session.refreshToken).toBeNull()

    // The other session's access token alone, its refresh token alone, and both together.
    const access = await rejection(withTokens({ accessToken: kept.accessToken }).caller.jobs.list({}))
    expect(access.code).toBe('UNAUTHORIZED')
    expect(access.message).toMatch(/signed out/i)
    expect((await rejection(withTokens({ refreshToken: kept.refreshToken }).caller.jobs.list({}))).code).toBe('UNAUTHORIZED')
    const both = withTokens(kept)
    expect((await rejection(both.caller.auth.me())).code).toBe('UNAUTHORIZED')
    expect(both.session.refreshToken).toBeNull()
    // This session's own tokens, kept aside before it signed out.
    expect((await rejection(withTokens(mine).caller.jobs.list({}))).code).toBe('UNAUTHORIZED')
    // Another replica and the image route.
    expect((await rejection(withTokens({ accessToken: kept.accessToken }, createTestApp()).caller.jobs.list({}))).code).toBe('UNAUTHORIZED')
    expect((await imageStatus(kept.accessToken!)).status).toBe(401)

    // Another user is unaffected, and the user can sign in again at once.
    expect((await demo.caller.auth.me()).email).toBe(DEMO_USER.email)
    const again = await signIn(email, password)
    expect((await again.caller.auth.me()).email).toBe(email)
    expect((await imageStatus(again.session.accessToken!)).status).toBe(404)
  })

  it('needs a signed-in session', async () => {
    expect((await rejection(callerFor(app).caller.auth.signOutEverywhere())).code).toBe('UNAUTHORIZED')
  })
})

/**
 * The deny-list itself, on both engines the job database runs on: embedded PGlite (`npm run dev`)
 * and the real PostgreSQL server the test setup starts (what RDS runs). On PostgreSQL the second
 * replica has a pool of its own; PGlite is one process's database, so there it shares the first's.
 */
const opened: OpenDatabase[] = []
afterAll(() => Promise.all(opened.map((d) => d.close())))
const postgres = () => openDatabase({ url: stackEnv().DATABASE_URL!, ssl: false, poolSize: 4, pgliteDir: 'unused' })
const engines: Record<string, () => Promise<[OpenDatabase, OpenDatabase]>> = {
  pglite: async () => {
    const database = await openDatabase({ url: null, ssl: false, poolSize: 1, pgliteDir: 'memory' })
    return [database, database]
  },
  postgres: () => Promise.all([postgres(), postgres()]),
}

for (const [engine, open] of Object.entries(engines)) {
  describe(`DatabaseRevocations on ${engine} (the deny-list itself)`, async () => {
    const [database, replicaDatabase] = await open()
    opened.push(...new Set([database, replicaDatabase]))
    const { db } = database
    const list = new DatabaseRevocations(Promise.resolve(db))
    const replica = new DatabaseRevocations(Promise.resolve(replicaDatabase.db))
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => null,
        (e: unknown) => e,
      )
    const seconds = () => Math.floor(Date.now() / 1000)
    const token = (sub: string, iat = seconds()) => ({ sub, username: 'u', jti: randomUUID(), iat, authTime: iat, exp: iat + 3600 })
    /** The user's rows in revoked_tokens, all or those matching `where`. */
    const rowsOf = async (sub: string, where?: SQL) =>
      (
        await db
          .select({ n: count() })
          .from(revokedTokens)
          .where(and(eq(revokedTokens.ownerSub, sub), where))
      )[0]!.n

    it('refuses a signed-out token on every replica at once, and only that token', async () => {
      const sub = randomUUID()
      const user = token(sub)
      const other = token(sub)
      await replica.assertActive(user) // accepted a moment before
      expect(await list.revokeToken(user)).toBe(true)
      expect(await list.revokeToken(user)).toBe(true) // twice: still one row
      expect(await list.revokeToken({ sub, username: 'u' })).toBe(false) // no jti: nothing to list it by
      const rows = await db
        .select({ ownerSub: revokedTokens.ownerSub, expiresAt: sql<number>`extract(epoch from ${revokedTokens.expiresAt})::float8` })
        .from(revokedTokens)
        .where(eq(revokedTokens.jti, user.jti))
      expect(rows).toEqual([{ ownerSub: sub, expiresAt: user.exp }]) // kept until the token expires
      for (const on of [list, replica]) {
        const error = await refused(on.assertActive(user))
        expect(error).toBeInstanceOf(InvalidTokenError)
        expect((error as Error).message).toBe('You signed out: sign in again.')
        await on.assertActive(other)
        await on.assertSessionActive(sub, user.iat) // one token out is not the session's end
      }
    })

    it(`sweeps rows of tokens that expired anyway, at most ${SWEEP_BATCH} per sign-out, oldest first`, async () => {
      const sub = randomUUID()
      // Long expired (older than anything else in the table, so these go first), expired within
      // the grace minute, and live.
      const ancient = Array.from({ length: SWEEP_BATCH + 20 }, (_, i) => ({
        jti: randomUUID(),
        ownerSub: sub,
        expiresAt: new Date(Date.UTC(1990, 0, 1) + i * 1000).toISOString(),
      }))
      const recent = { jti: randomUUID(), ownerSub: sub, expiresAt: new Date(Date.now() - 10_000).toISOString() }
      await db.insert(revokedTokens).values([...ancient, recent])
      const old = lt(revokedTokens.expiresAt, '2000-01-01T00:00:00Z')
      const live = token(sub)

      await list.revokeToken(live)
      expect(await rowsOf(sub, old)).toBe(20)
      // The newest of the ancient rows are the ones left.
      const left = await db
        .select({ jti: revokedTokens.jti })
        .from(revokedTokens)
        .where(and(eq(revokedTokens.ownerSub, sub), old))
      expect(new Set(left.map((r) => r.jti))).toEqual(new Set(ancient.slice(SWEEP_BATCH).map((r) => r.jti)))

      await replica.revokeToken(token(sub))
      expect(await rowsOf(sub, old)).toBe(0)
      // Live tokens and one that expired within the grace minute stay listed.
      expect(await rowsOf(sub)).toBe(3)
      expect(await refused(list.assertActive(live))).toBeInstanceOf(InvalidTokenError)
      expect(await list.sweepExpired()).toBe(0)
    })

    it('refuses ids Cognito does not issue, and sessions begun before sign out everywhere, to the second', async () => {
      expect(await refused(list.assertActive({ sub: '../etc', username: 'u', exp: 2e9 }))).toBeInstanceOf(InvalidTokenError)
      expect(await refused(list.assertActive({ sub: randomUUID(), username: 'u', jti: 'a/b', exp: 2e9 }))).toBeInstanceOf(InvalidTokenError)
      expect(await refused(list.assertActive({ sub: randomUUID(), username: 'u', jti: 'x'.repeat(201), exp: 2e9 }))).toBeInstanceOf(InvalidTokenError)

      const sub = randomUUID()
      const before = seconds()
      const notBefore = await list.revokeAllSessions(sub)
      expect(notBefore).toBe(before + 1)
      expect(Date.now()).toBeGreaterThanOrEqual(notBefore * 1000) // it waited for that second
      // Both replicas read the time from the database.
      for (const on of [list, replica]) {
        const error = await refused(on.assertActive(token(sub, notBefore - 1)))
        expect(error).toBeInstanceOf(InvalidTokenError)
        expect((error as Error).message).toBe('You signed out everywhere: sign in again.')
        expect(await refused(on.assertSessionActive(sub, notBefore - 1))).toBeInstanceOf(InvalidTokenError)
        await on.assertActive(token(sub, notBefore))
        await on.assertActive({ ...token(sub, notBefore), jti: undefined }) // no jti: the cutoff alone
        await on.assertSessionActive(sub, notBefore)
        // A session refreshed since, whose token is new but whose sign-in (auth_time) is old, is refused too.
        expect(await refused(on.assertActive({ ...token(sub, notBefore + 5), authTime: notBefore - 10 }))).toBeInstanceOf(InvalidTokenError)
        // Other users are untouched.
        await on.assertActive(token(randomUUID(), notBefore - 1))
      }
      // A later sign out everywhere moves the cutoff on; one from a replica whose clock is behind
      // does not move it back.
      const later = await replica.revokeAllSessions(sub)
      expect(later).toBeGreaterThan(notBefore)
      const behind = vi.spyOn(Date, 'now').mockReturnValue((later - 100) * 1000)
      try {
        expect(await list.revokeAllSessions(sub)).toBe(later - 99)
      } finally {
        behind.mockRestore()
      }
      const cutoff = await db
        .select({ at: sql<number>`extract(epoch from ${sessionCutoffs.notBefore})::float8` })
        .from(sessionCutoffs)
        .where(eq(sessionCutoffs.ownerSub, sub))
      expect(cutoff).toEqual([{ at: later }])
      expect(await refused(replica.assertSessionActive(sub, later - 1))).toBeInstanceOf(InvalidTokenError)
    })
  })
}
