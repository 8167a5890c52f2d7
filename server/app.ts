import { createAccessTokenVerifier } from '../lib/auth/access-token'
import { createLogger } from '../lib/log'
import { CognitoAuth } from './auth/cognito'
import { loadConfig, type OrchestratorConfig } from './config'
import { Dispatcher } from './jobs/dispatcher'
import { JobRepository } from './jobs/repository'
import { JobRunner } from './jobs/runner'
import { LocalFolderStore } from './storage/local-folder-store'
import type { BlobStore } from './storage/store'

/** Everything the API needs, built once per process from the configuration. */
export interface App {
  config: OrchestratorConfig
  auth: CognitoAuth
  verifyAccessToken: ReturnType<typeof createAccessTokenVerifier>
  store: BlobStore
  jobs: JobRepository
  runner: JobRunner
  dispatcher: Dispatcher
  logger: ReturnType<typeof createLogger>
}

export function createApp(config: OrchestratorConfig = loadConfig()): App {
  const logger = createLogger('orchestrator')
  const store = new LocalFolderStore(config.dataDir)
  const jobs = new JobRepository(store)
  const dispatcher = new Dispatcher(config.services)
  return {
    config,
    logger,
    auth: new CognitoAuth(config.cognito),
    verifyAccessToken: createAccessTokenVerifier({ issuer: config.cognito.issuer, clientId: config.cognito.clientId, jwksUrl: config.cognito.jwksUrl }),
    store,
    jobs,
    dispatcher,
    runner: new JobRunner({ repository: jobs, store, dispatcher, logger, concurrency: 2, timeoutMs: config.jobTimeoutMs, maxAttempts: config.maxJobAttempts }),
  }
}

let app: App | undefined
/** The process-wide app (Nitro routes and plugins share it). */
export function useApp(): App {
  app ??= createApp()
  return app
}
