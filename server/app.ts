import { createAccessTokenVerifier } from '../lib/auth/access-token'
import { createLogger } from '../lib/log'
import { CognitoAuth } from './auth/cognito'
import { ServiceIdentity } from './auth/service-identity'
import { loadConfig, type OrchestratorConfig } from './config'
import { Dispatcher } from './jobs/dispatcher'
import { InProcessQueue, type JobQueue } from './jobs/queue'
import { RateLimiter } from './jobs/rate-limiter'
import { JobRepository } from './jobs/repository'
import { JobRunner } from './jobs/runner'
import { SqsQueue } from './jobs/sqs-queue'
import { SQSClient } from '@aws-sdk/client-sqs'
import { createMetrics, type Metrics } from './metrics'
import { LocalFolderStore } from './storage/local-folder-store'
import { S3Store } from './storage/s3-store'
import type { BlobStore } from './storage/store'

/** Everything the API needs, built once per process from the configuration. */
export interface App {
  config: OrchestratorConfig
  auth: CognitoAuth
  verifyAccessToken: ReturnType<typeof createAccessTokenVerifier>
  store: BlobStore
  jobs: JobRepository
  queue: JobQueue
  runner: JobRunner
  dispatcher: Dispatcher
  createRate: RateLimiter
  /** Sign-in and reset attempts per email and client address, against password guessing. */
  authRate: RateLimiter
  metrics: Metrics
  logger: ReturnType<typeof createLogger>
}

export function createApp(config: OrchestratorConfig = loadConfig(), parts: { store?: BlobStore; queue?: JobQueue } = {}): App {
  const logger = createLogger('orchestrator')
  const store = parts.store ?? createStore(config)
  const queue =
    parts.queue ??
    (config.sqs ? new SqsQueue({ ...config.sqs, capacity: config.maxQueuedJobs, logger, client: sqsClient(config.sqs) }) : new InProcessQueue(config.maxQueuedJobs))
  const jobs = new JobRepository(store)
  const dispatcher = new Dispatcher(config.services, { perReplicaConcurrency: 2, unhealthyForMs: 10_000, idleTimeoutMs: config.stepIdleTimeoutMs })
  const auth = new CognitoAuth(config.cognito)
  const metrics = createMetrics(() => queue.depth())
  const runner = new JobRunner({
    metrics,
    repository: jobs,
    store,
    dispatcher,
    queue,
    serviceIdentity: config.serviceAccount ? new ServiceIdentity(auth, config.serviceAccount) : null,
    logger,
    concurrency: config.jobConcurrency,
    timeoutMs: config.jobTimeoutMs,
    maxAttempts: config.maxJobAttempts,
  })
  runner.start()
  return {
    config,
    logger,
    auth,
    verifyAccessToken: createAccessTokenVerifier({ issuer: config.cognito.issuer, clientId: config.cognito.clientId, jwksUrl: config.cognito.jwksUrl }),
    store,
    jobs,
    queue,
    dispatcher,
    runner,
    createRate: new RateLimiter(config.maxJobsPerMinutePerUser, 60_000),
    authRate: new RateLimiter(10, 5 * 60_000),
    metrics,
  }
}

function createStore(config: OrchestratorConfig): BlobStore {
  if (!config.s3) return new LocalFolderStore(config.dataDir)
  const { bucket, endpoint, region } = config.s3
  // S3-compatible test servers need path-style URLs; in AWS the SDK's defaults (and the task role) apply.
  return new S3Store(bucket, endpoint ? { endpoint, region, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } : { region })
}

function sqsClient({ endpoint, region }: { endpoint?: string; region: string }) {
  // SQS-compatible test servers need an explicit endpoint; in AWS the SDK's defaults (and the task role) apply.
  return new SQSClient(endpoint ? { endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : { region })
}

let app: App | undefined
/** The process-wide app (Nitro routes and plugins share it). */
export function useApp(): App {
  app ??= createApp()
  return app
}
