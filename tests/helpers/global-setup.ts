import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startPostgres } from '../../scripts/lib/postgres'
import { cognitoEnv, freePort, SERVICES, startCognito, startInferenceService, stopAll, type ServiceName } from '../../scripts/lib/local-stack'

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>
  }
}

/** One real Cognito emulator, one PostgreSQL server and every real inference service for the integration project's files. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'restora-test-'))
  await chmod(dir, 0o711) // PostgreSQL runs as its own user and needs to reach its folder inside
  const [cognito, database] = await Promise.all([startCognito(await freePort(), join(dir, 'cognito')), startPostgres(join(dir, 'postgres'), await freePort())])
  // The orchestrator's tests run on a real PostgreSQL server; the repository tests also on PGlite.
  const env = {
    ...cognitoEnv(cognito),
    DATA_DIR: join(dir, 'store'),
    DATABASE_URL: database.url,
    LOG_LEVEL: 'warn',
    // The demo user makes hundreds of jobs a minute across the test files; limit tests set their own.
    MAX_JOBS_PER_MINUTE_PER_USER: '100000',
  } as Record<string, string>
  // TEST_SERVICES=upscale,remove-text starts only those (quicker runs of one file); the full run starts all.
  const only = process.env.TEST_SERVICES?.split(',').filter(Boolean)
  const names = (Object.keys(SERVICES) as ServiceName[]).filter((name) => !only || only.includes(name))
  const ports = await Promise.all(names.map(() => freePort()))
  names.forEach((name, i) => (env[SERVICES[name].urlsEnv] = `http://127.0.0.1:${ports[i]}`))
  const started = Date.now()
  await Promise.all(
    names.map(async (name, i) => {
      await startInferenceService(name, ports[i]!, env)
      console.log(`[global-setup] ${name} service ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }),
  )
  project.provide('stackEnv', env)
  return async () => {
    await stopAll()
    await rm(dir, { recursive: true, force: true })
  }
}
