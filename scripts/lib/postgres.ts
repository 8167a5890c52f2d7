import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { startProcess } from './local-stack'

/**
 * A throwaway PostgreSQL server (Debian's `postgresql` package) for the tests, so the job
 * database's SQL is proven on the engine RDS runs, not only on embedded PGlite.
 */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : null
}

export async function startPostgres(dir: string, port: number): Promise<{ url: string }> {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (npm test installs it when run as root).')
  // PostgreSQL refuses to run as root; Debian's package brings the `postgres` user for it.
  const asRoot = process.getuid?.() === 0
  const run = (command: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]) as [string, string[]]
  mkdirSync(dir, { recursive: true })
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  const [initdb, initArgs] = run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'])
  execFileSync(initdb, initArgs, { stdio: 'ignore' })
  // Durability is not what the tests measure: no fsync makes the server start and write fast.
  const [postgres, args] = run(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ])
  const child = startProcess('postgres', postgres, args, {}, { quiet: true })
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited with code ${child.exitCode} before it was ready`)
    const client = new pg.Client({ connectionString: admin })
    try {
      await client.connect()
      await client.query('create database restora')
      await client.end()
      break
    } catch (error) {
      await client.end().catch(() => {})
      if (i > 100) throw error
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/restora` }
}
