import { createAccessTokenVerifier } from '../lib/auth/access-token'
import { createLogger } from '../lib/log'
import { CognitoAuth } from './auth/cognito'
import { DatabaseRevocations, refusingRevoked, type Revocations } from './auth/revocations'
import { ServiceIdentity } from './auth/service-identity'
import { loadConfig, type OrchestratorConfig } from './config'
import { Dispatcher } from './jobs/dispatcher'
import { InProcessQueue, type JobQueue } from './jobs/queue'
import { RateLimiter } from './jobs/rate-limiter'
import { JobRepository } from './jobs/repository'
import { openDatabase, type OpenDatabase } from './db/database'
import { JobRunner } from './jobs/runner'
import { SqsQueue } from './jobs/sqs-queue'
import { SQSClient } from '@aws-sdk/client-sqs'
import { createMetrics, type Metrics } from './metrics'
import { LocalFolderStore } from './storage/local-folder-store'
import { S3Store } from './storage/s3-store'
import type { BlobStore } from './storage/store'
import type { ModelInfo, ModelTask } from '../contracts/service'

/** Everything the API needs, built once per process from the configuration. */
export interface App {
  config: OrchestratorConfig
  auth: CognitoAuth
  /** Verifies an access token and refuses one that was signed out (`revocations`). */
  verifyAccessToken: ReturnType<typeof createAccessTokenVerifier>
  /** Signed-out tokens and sessions, in the job database: shared by every replica. */
  revocations: Revocations
  store: BlobStore
  jobs: JobRepository
  queue: JobQueue
  runner: JobRunner
  dispatcher: Dispatcher
  /** The job database, once open: for closing it (tests, shutdown). */
  database: Promise<OpenDatabase>
  /** Sign-in, confirm and reset attempts per account, against password guessing. */
  authRate: RateLimiter
  /** The same attempts per client address, against guessing across many accounts. */
  authAddressRate: RateLimiter
  /** text.detect calls per user: each runs the detector on a service. */
  detectRate: RateLimiter
  /** The models each task's service offered at its last answer: job creation checks steps against them. */
  knownModels: Map<ModelTask, ModelInfo[]>
  metrics: Metrics
  logger: ReturnType<typeof createLogger>
}

export function createApp(
  config: OrchestratorConfig = loadConfig(),
  parts: { store?: BlobStore; queue?: JobQueue; database?: Promise<OpenDatabase> } = {},
): App {
  const logger = createLogger('orchestrator')
  // Opened (and migrated) in the background: every query waits for it, so building the app stays synchronous.
  const database = parts.database ?? openDatabase(config.database)
  database.catch((error: Error) => logger.fatal({ err: error }, `cannot open the job database: ${error.message}`))
  const store = parts.store ?? createStore(config)
  const queue =
    parts.queue ??
    (config.sqs
      ? new SqsQueue({ ...config.sqs, capacity: config.maxQueuedJobs, logger, client: sqsClient(config.sqs) })
      : new InProcessQueue(config.maxQueuedJobs))
  const db = database.then((d) => d.db)
  db.catch(() => {}) // logged above; each query that needs it fails with the reason
  const jobs = new JobRepository(db)
  const dispatcher = new Dispatcher(config.services, { perReplicaConcurrency: 2, unhealthyForMs: 10_000, idleTimeoutMs: config.stepIdleTimeoutMs })
  const revocations = new DatabaseRevocations(db)
  const auth = new CognitoAuth(config.cognito, revocations)
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
    transientWindowMs: config.stepRetryWindowMs,
  })
  runner.start()
  return {
    config,
    logger,
    auth,
    verifyAccessToken: refusingRevoked(
      createAccessTokenVerifier({ issuer: config.cognito.issuer, clientId: config.cognito.clientId, jwksUrl: config.cognito.jwksUrl }),
      revocations,
    ),
    revocations,
    store,
    jobs,
    queue,
    dispatcher,
    runner,
    database,
    authRate: new RateLimiter(10, 5 * 60_000),
    authAddressRate: new RateLimiter(30, 5 * 60_000),
    detectRate: new RateLimiter(config.maxDetectsPerMinutePerUser, 60_000),
    knownModels: new Map(),
    metrics,
  }
}

export function createStore(config: OrchestratorConfig): BlobStore {
  if (!config.s3) return new LocalFolderStore(config.dataDir)
  const { bucket, endpoint, region } = config.s3
  // S3-compatible test servers need path-style URLs; in AWS the SDK's defaults (and the task role) apply.
  return new S3Store(
    bucket,
    endpoint ? { endpoint, region, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } : { region },
  )
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
