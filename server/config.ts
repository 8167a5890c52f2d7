import { z } from 'zod'
import { MODEL_TASKS, serviceUrlsEnv, type ModelTask } from '../contracts/tasks'
import { limitsFromEnv } from '../lib/limits'

/** Orchestrator settings, all from the environment (the local stack and SST set them). */
const Env = z.object({
  COGNITO_REGION: z.string().default('us-east-1'),
  /** Set only for the local emulator; unset in AWS so the SDK uses the real endpoint. */
  COGNITO_ENDPOINT: z.string().url().optional(),
  COGNITO_USER_POOL_ID: z.string().min(1),
  COGNITO_CLIENT_ID: z.string().min(1),
  COGNITO_ISSUER: z.string().url(),
  COGNITO_JWKS_URL: z.string().url().optional(),
  /** Local only: confirm sign-ups at once, since the emulator sends no email. */
  AUTH_AUTO_CONFIRM: z.enum(['0', '1']).default('0'),
  DATA_DIR: z.string().default('.data'),
  /** The job database: a PostgreSQL server (RDS in AWS); unset, an embedded PGlite in PGLITE_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATABASE_SSL: z.enum(['off', 'require']).default('off'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  PGLITE_DIR: z.string().default('.data/db'),
  /** With a bucket, jobs and images live in S3 instead of DATA_DIR. */
  STORAGE_BUCKET: z.string().optional(),
  /** With a queue URL, jobs wait in Amazon SQS (several orchestrator replicas) instead of in memory. */
  JOB_QUEUE_URL: z.string().url().optional(),
  JOB_QUEUE_VISIBILITY_TIMEOUT_S: z.coerce.number().int().min(1).default(120),
  /** Only for SQS-compatible servers (tests); unset in AWS. */
  SQS_ENDPOINT: z.string().url().optional(),
  SQS_REGION: z.string().default('us-east-1'),
  /** Only for S3-compatible servers (tests, local); unset in AWS. */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  /** The orchestrator's own Cognito user, for calls no user token can cover (resumed jobs). */
  SERVICE_ACCOUNT_EMAIL: z.string().optional(),
  SERVICE_ACCOUNT_PASSWORD: z.string().optional(),
  /** Jobs this orchestrator runs at once, and jobs allowed to wait before jobs.create says "busy". */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).default(4),
  MAX_QUEUED_JOBS: z.coerce.number().int().min(1).default(200),
  /** Per user: unfinished jobs at once, and new jobs per minute. */
  MAX_ACTIVE_JOBS_PER_USER: z.coerce.number().int().min(1).default(50),
  MAX_JOBS_PER_MINUTE_PER_USER: z.coerce.number().int().min(1).default(60),
  /** Per user: jobs kept in the history (finished ones included) before new ones are refused. */
  MAX_STORED_JOBS_PER_USER: z.coerce.number().int().min(1).default(10_000),
  JOB_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  /** A service that sends nothing for this long is given up on for that attempt. */
  STEP_IDLE_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  MAX_JOB_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** How long a step waits out a service that is busy, still loading or restarting before the job fails. */
  STEP_RETRY_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  /**
   * Proxies in front of the web process that append to X-Forwarded-For: 0 locally (the socket's
   * address is the client), 2 in AWS (CloudFront, then the load balancer). Hops the client adds
   * itself sit further left and are never read.
   */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(0),
  /** tRPC calls one HTTP request may batch (each still counts against every limit). */
  MAX_BATCH_CALLS: z.coerce.number().int().min(1).max(100).default(10),
  /** Largest request body the web process reads (an upload plus its mask); larger ones get 413 while streaming. */
  MAX_REQUEST_BYTES: z.coerce.number().int().positive().optional(),
  /** Format conversions and thumbnails at once in this process (each decodes a whole image). */
  MAX_CONCURRENT_CONVERSIONS: z.coerce.number().int().min(1).default(2),
  /** Per user: text.detect calls per minute (each runs the detector on a service). */
  MAX_DETECTS_PER_MINUTE_PER_USER: z.coerce.number().int().min(1).default(20),
})

export type OrchestratorConfig = ReturnType<typeof loadConfig>

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = Env.safeParse(env)
  if (!parsed.success)
    throw new Error(
      `Orchestrator configuration is incomplete: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}. Start it with \`npm run dev\` (README).`,
    )
  const e = parsed.data
  const limits = limitsFromEnv(env)
  return {
    cognito: {
      region: e.COGNITO_REGION,
      endpoint: e.COGNITO_ENDPOINT,
      userPoolId: e.COGNITO_USER_POOL_ID,
      clientId: e.COGNITO_CLIENT_ID,
      issuer: e.COGNITO_ISSUER,
      jwksUrl: e.COGNITO_JWKS_URL,
      autoConfirm: e.AUTH_AUTO_CONFIRM === '1',
    },
    dataDir: e.DATA_DIR,
    database: { url: e.DATABASE_URL ?? null, ssl: e.DATABASE_SSL === 'require', poolSize: e.DATABASE_POOL_SIZE, pgliteDir: e.PGLITE_DIR },
    s3: e.STORAGE_BUCKET ? { bucket: e.STORAGE_BUCKET, endpoint: e.S3_ENDPOINT, region: e.S3_REGION } : null,
    // <TASK>_SERVICE_URLS (contracts/tasks.ts): comma-separated replica URLs; a task with none is simply not offered.
    services: Object.fromEntries(MODEL_TASKS.map((task) => [task, urls(env[serviceUrlsEnv(task)] ?? '')])) as Record<ModelTask, string[]>,
    limits,
    serviceAccount: e.SERVICE_ACCOUNT_EMAIL && e.SERVICE_ACCOUNT_PASSWORD ? { email: e.SERVICE_ACCOUNT_EMAIL, password: e.SERVICE_ACCOUNT_PASSWORD } : null,
    sqs: e.JOB_QUEUE_URL
      ? { queueUrl: e.JOB_QUEUE_URL, visibilityTimeoutSeconds: e.JOB_QUEUE_VISIBILITY_TIMEOUT_S, endpoint: e.SQS_ENDPOINT, region: e.SQS_REGION }
      : null,
    jobConcurrency: e.JOB_CONCURRENCY,
    maxQueuedJobs: e.MAX_QUEUED_JOBS,
    maxActiveJobsPerUser: e.MAX_ACTIVE_JOBS_PER_USER,
    maxJobsPerMinutePerUser: e.MAX_JOBS_PER_MINUTE_PER_USER,
    maxStoredJobsPerUser: e.MAX_STORED_JOBS_PER_USER,
    jobTimeoutMs: e.JOB_TIMEOUT_MS,
    stepIdleTimeoutMs: e.STEP_IDLE_TIMEOUT_MS,
    maxJobAttempts: e.MAX_JOB_ATTEMPTS,
    stepRetryWindowMs: e.STEP_RETRY_WINDOW_MS,
    trustedProxyHops: e.TRUSTED_PROXY_HOPS,
    maxBatchCalls: e.MAX_BATCH_CALLS,
    maxRequestBytes: e.MAX_REQUEST_BYTES ?? 2 * limits.maxInputBytes + 1024 * 1024,
    maxConcurrentConversions: e.MAX_CONCURRENT_CONVERSIONS,
    maxDetectsPerMinutePerUser: e.MAX_DETECTS_PER_MINUTE_PER_USER,
  }
}

const urls = (list: string) =>
  list
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
