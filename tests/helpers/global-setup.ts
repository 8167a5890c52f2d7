import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { cognitoEnv, startCognito, startInferenceService, stopAll } from '../../scripts/lib/local-stack'

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>
  }
}

/** One real Cognito emulator and one real upscale service for the whole vitest run. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'restora-test-'))
  const cognito = await startCognito(9429, join(dir, 'cognito'))
  const env = { ...cognitoEnv(cognito), UPSCALE_SERVICE_URLS: 'http://127.0.0.1:8201', DATA_DIR: join(dir, 'store'), LOG_LEVEL: 'warn' } as Record<string, string>
  await startInferenceService('upscale', 8201, env)
  project.provide('stackEnv', env)
  return async () => {
    await stopAll()
    await rm(dir, { recursive: true, force: true })
  }
}
