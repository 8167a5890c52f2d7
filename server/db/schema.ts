import { sql } from 'drizzle-orm'
import { index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import type { JobRecord } from '../jobs/repository'

/**
 * The job database. Blobs (inputs, step outputs, results) stay in the blob store; here live the
 * records that must be queried, counted and locked: jobs, and signed-out tokens.
 * Changing this file means a new migration: `npm run db:generate` (drizzle-kit) writes it to
 * server/db/migrations/, which every process applies at start.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    ownerSub: text('owner_sub').notNull(),
    /** Copied out of `record` so the limits and recovery can use indexes. */
    status: text('status').notNull(),
    batchId: text('batch_id'),
    createdAt: timestamp('created_at', { precision: 3, withTimezone: true, mode: 'string' }).notNull(),
    updatedAt: timestamp('updated_at', { precision: 3, withTimezone: true, mode: 'string' }).notNull(),
    /** The whole record as the API shows it (steps, progress, outputs, error). */
    record: jsonb('record').$type<JobRecord>().notNull(),
  },
  (t) => [
    // History pages: newest first (a backward scan), keyset on (created_at, id).
    index('jobs_owner_history').on(t.ownerSub, t.createdAt, t.id),
    // Unfinished jobs: the per-user limit and restart recovery read only these.
    index('jobs_unfinished').on(t.ownerSub).where(sql`${t.status} in ('queued', 'running')`),
  ],
)

/**
 * Jobs each user keeps, counted as they are created and deleted (in the same transactions), so
 * the stored-jobs limit is one row read rather than a count over a history of 10,000.
 */
export const userJobCounts = pgTable('user_job_counts', {
  ownerSub: text('owner_sub').primaryKey(),
  storedJobs: integer('stored_jobs').notNull().default(0),
})

/** Access tokens signed out before they expire: refused until `expires_at`, then swept. */
export const revokedTokens = pgTable(
  'revoked_tokens',
  {
    jti: text('jti').primaryKey(),
    ownerSub: text('owner_sub').notNull(),
    expiresAt: timestamp('expires_at', { precision: 3, withTimezone: true, mode: 'string' }).notNull(),
  },
  (t) => [index('revoked_tokens_expiry').on(t.expiresAt)],
)

/** "Sign out everywhere": every token of the user issued before `not_before` is refused. */
export const sessionCutoffs = pgTable('session_cutoffs', {
  ownerSub: text('owner_sub').primaryKey(),
  notBefore: timestamp('not_before', { precision: 3, withTimezone: true, mode: 'string' }).notNull(),
})

export const schema = { jobs, userJobCounts, revokedTokens, sessionCutoffs }
