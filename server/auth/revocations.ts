import { eq, inArray, lt, sql } from 'drizzle-orm'
import { InvalidTokenError, type VerifiedUser } from '../../lib/auth/access-token'
import type { Database } from '../db/database'
import { revokedTokens, sessionCutoffs } from '../db/schema'

/**
 * Signed-out sessions, shared by every orchestrator replica. Cognito access tokens are JWTs that
 * stay valid until they expire (60 min in AWS, 24 h in the emulator) whatever Cognito is told, so
 * the orchestrator keeps its own list: the token ids (`jti`) signed out one by one, until they
 * expire, and per user the time of the last "sign out everywhere" (a session that started before
 * it is refused). Only verified tokens are ever written here, so no one can add entries for
 * another user.
 */
export interface Revocations {
  /** Throws InvalidTokenError when this token was signed out, on its own or everywhere. */
  assertActive(user: VerifiedUser): Promise<void>
  /** Throws InvalidTokenError when sign out everywhere happened after a session began (`startedAt`, s). */
  assertSessionActive(sub: string, startedAt: number): Promise<void>
  /** Refuses this one token from now until it expires. False when it has no id to refuse it by. */
  revokeToken(user: VerifiedUser): Promise<boolean>
  /** Refuses every session of the user that began before now; returns that time (s since the epoch). */
  revokeAllSessions(sub: string): Promise<number>
}

/** Rows of expired tokens deleted at each sign-out: bounded, so a backlog drains over a few sign-outs. */
export const SWEEP_BATCH = 100
/** A row outlives its token by this much, so a replica whose clock is a little behind still refuses it. */
const SWEEP_GRACE = sql`interval '1 minute'`
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/

const SIGNED_OUT = 'You signed out: sign in again.'
const SIGNED_OUT_EVERYWHERE = 'You signed out everywhere: sign in again.'

const epochSeconds = (column: typeof revokedTokens.expiresAt | typeof sessionCutoffs.notBefore) => sql<number>`extract(epoch from ${column})::float8`
const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString()

/**
 * The list in the job database (`revoked_tokens`, `session_cutoffs`). A check is one statement,
 * one round trip on one pooled connection: the token's row by primary key UNION ALL the user's
 * cutoff by primary key (two index lookups, usually of nothing). Nothing is cached in memory, so
 * a sign-out on any replica is refused by every replica from the next request on. Each sign-out
 * also deletes up to SWEEP_BATCH rows of tokens that expired anyway (oldest first, by the
 * `expires_at` index).
 */
export class DatabaseRevocations implements Revocations {
  constructor(private readonly database: Promise<Database>) {}

  async assertActive(user: VerifiedUser): Promise<void> {
    const { sub, jti } = user
    safeId(sub, 'subject')
    if (jti !== undefined) safeId(jti, 'id')
    const db = await this.database
    const cutoff = db
      .select({ kind: sql<'cutoff' | 'revoked'>`'cutoff'`, at: epochSeconds(sessionCutoffs.notBefore) })
      .from(sessionCutoffs)
      .where(eq(sessionCutoffs.ownerSub, sub))
    const rows = jti
      ? await db
          .select({ kind: sql<'cutoff' | 'revoked'>`'revoked'`, at: epochSeconds(revokedTokens.expiresAt) })
          .from(revokedTokens)
          .where(eq(revokedTokens.jti, jti))
          .unionAll(cutoff)
      : await cutoff
    if (rows.some((row) => row.kind === 'revoked')) throw new InvalidTokenError(SIGNED_OUT)
    refuseIfBefore(user.authTime ?? user.iat ?? 0, rows.find((row) => row.kind === 'cutoff')?.at)
  }

  async assertSessionActive(sub: string, startedAt: number): Promise<void> {
    safeId(sub, 'subject')
    const db = await this.database
    const [row] = await db
      .select({ at: epochSeconds(sessionCutoffs.notBefore) })
      .from(sessionCutoffs)
      .where(eq(sessionCutoffs.ownerSub, sub))
    refuseIfBefore(startedAt, row?.at)
  }

  async revokeToken(user: VerifiedUser): Promise<boolean> {
    if (!user.jti) return false
    safeId(user.sub, 'subject')
    safeId(user.jti, 'id')
    const exp = user.exp ?? Math.ceil(Date.now() / 1000) + 24 * 3600
    const db = await this.database
    await db
      .insert(revokedTokens)
      .values({ jti: user.jti, ownerSub: user.sub, expiresAt: isoSeconds(exp) })
      .onConflictDoNothing()
    // Best effort: the sign-out stands whether or not the sweep ran.
    await this.sweepExpired().catch(() => {})
    return true
  }

  async revokeAllSessions(sub: string): Promise<number> {
    safeId(sub, 'subject')
    // Token times are whole seconds: every session so far began at or before this second, and
    // the next whole second is the first at which a new one may begin.
    const notBefore = Math.floor(Date.now() / 1000) + 1
    const db = await this.database
    await db
      .insert(sessionCutoffs)
      .values({ ownerSub: sub, notBefore: isoSeconds(notBefore) })
      // Two sign-outs everywhere racing (two replicas): the later time wins, it never goes back.
      .onConflictDoUpdate({ target: sessionCutoffs.ownerSub, set: { notBefore: sql`greatest(${sessionCutoffs.notBefore}, excluded.not_before)` } })
    // The user's rows in revoked_tokens are not needed any more, but are left to the sweep:
    // there is no index on owner_sub to find them by.
    // Wait for that second, so a sign-in right after this returns is not refused.
    // A timer runs on the monotonic clock and can fire up to a millisecond before the wall clock
    // gets there (seen in CI: 999 ms after the wait began): one more millisecond covers that.
    const wait = notBefore * 1000 - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 1))
    return notBefore
  }

  /**
   * Deletes up to SWEEP_BATCH rows of tokens expired (by the database's clock) more than
   * SWEEP_GRACE ago. Rows another replica is sweeping at the same moment are skipped, not waited for.
   */
  async sweepExpired(): Promise<number> {
    const db = await this.database
    const expired = db
      .select({ jti: revokedTokens.jti })
      .from(revokedTokens)
      .where(lt(revokedTokens.expiresAt, sql`now() - ${SWEEP_GRACE}`))
      .orderBy(revokedTokens.expiresAt)
      .limit(SWEEP_BATCH)
      .for('update', { skipLocked: true })
    const deleted = await db.delete(revokedTokens).where(inArray(revokedTokens.jti, expired)).returning({ jti: revokedTokens.jti })
    return deleted.length
  }
}

/** The App's verifier: the token's signature and claims first, then whether it was signed out. */
export function refusingRevoked(verify: TokenVerifier, revocations: Revocations): TokenVerifier {
  return async (token) => {
    const user = await verify(token)
    await revocations.assertActive(user)
    return user
  }
}

type TokenVerifier = (token: string | undefined | null) => Promise<VerifiedUser>

function refuseIfBefore(startedAt: number, notBefore: number | undefined) {
  if (notBefore !== undefined && startedAt < Number(notBefore)) throw new InvalidTokenError(SIGNED_OUT_EVERYWHERE)
}

/**
 * Cognito's `sub` and `jti` are UUIDs: anything else was not issued by it, and is refused before
 * it reaches a query (or a primary-key index, whose entries have a size limit).
 */
function safeId(value: string, what: string) {
  if (!SAFE_ID.test(value)) throw new InvalidTokenError(`The access token's ${what} is not one Cognito issues.`)
}
