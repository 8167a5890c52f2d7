import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import pg from 'pg'
import { schema } from './schema'

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

export interface DatabaseConfig {
  /** A PostgreSQL server (RDS in AWS, a local server in the tests); without one, embedded PGlite. */
  url: string | null
  /** `require`: TLS to the server (RDS). */
  ssl: boolean
  poolSize: number
  /** Where embedded PGlite keeps its files; `memory` keeps nothing. */
  pgliteDir: string
}

/** The SQL migrations drizzle-kit wrote (server/db/migrations), found from the working directory as in the container image. */
export const MIGRATIONS_DIR = resolve(process.env.MIGRATIONS_DIR ?? 'server/db/migrations')

/** Any number, the same in every process: the lock that lets one replica at a time migrate. */
const MIGRATION_LOCK = 7_215_301

export interface OpenDatabase {
  db: Database
  close(): Promise<void>
}

/**
 * Opens the job database and brings its schema up to date. Two replicas starting together on
 * one server take turns (an advisory lock on a connection of its own), so a migration runs once.
 */
export async function openDatabase(config: DatabaseConfig): Promise<OpenDatabase> {
  if (!config.url) {
    if (config.pgliteDir !== 'memory') await mkdir(config.pgliteDir, { recursive: true })
    const client = config.pgliteDir === 'memory' ? new PGlite() : new PGlite(config.pgliteDir)
    const db = drizzlePglite({ client, schema })
    await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR })
    return { db: db as unknown as Database, close: () => client.close() }
  }
  const ssl = config.ssl ? { rejectUnauthorized: false } : undefined
  const lockClient = new pg.Client({ connectionString: config.url, ssl })
  await lockClient.connect()
  try {
    const migrator = drizzlePg({ client: lockClient, schema })
    await migrator.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK})`)
    await migratePg(migrator, { migrationsFolder: MIGRATIONS_DIR })
    await migrator.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`)
  } finally {
    await lockClient.end()
  }
  const pool = new pg.Pool({ connectionString: config.url, ssl, max: config.poolSize, idleTimeoutMillis: 30_000 })
  // An idle client losing its connection (a failover) must not take the process down.
  pool.on('error', () => {})
  return { db: drizzlePg({ client: pool, schema }) as unknown as Database, close: () => pool.end() }
}
