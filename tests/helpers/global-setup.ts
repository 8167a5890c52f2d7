import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { cognitoEnv, freePort, SERVICES, startCognito, startInferenceService, stopAll, type ServiceName } from '../../scripts/lib/local-stack'

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>
  }
}

/** One real Cognito emulator and every real inference service for the whole vitest run. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'restora-test-'))
  const cognito = await startCognito(await freePort(), join(dir, 'cognito'))
  const env = { ...cognitoEnv(cognito), DATA_DIR: join(dir, 'store'), LOG_LEVEL: 'warn' } as Record<string, string>
  const names = Object.keys(SERVICES) as ServiceName[]
  const ports = await Promise.all(names.map(() => freePort()))
  names.forEach((name, i) => (env[SERVICES[name].urlsEnv] = `http://127.0.0.1:${ports[i]}`))
  await Promise.all(names.map((name, i) => startInferenceService(name, ports[i]!, env)))
  project.provide('stackEnv', env)
  return async () => {
    await stopAll()
    await rm(dir, { recursive: true, force: true })
  }
}
