import { z } from 'zod'
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
  /** Comma-separated replica URLs of each service; a task with none is simply not offered. */
  UPSCALE_SERVICE_URLS: z.string().default('http://127.0.0.1:8101'),
  DENOISE_SERVICE_URLS: z.string().default(''),
  REMOVE_TEXT_SERVICE_URLS: z.string().default(''),
  ENHANCE_SERVICE_URLS: z.string().default(''),
  /** The orchestrator's own Cognito user, for calls no user token can cover (resumed jobs). */
  SERVICE_ACCOUNT_EMAIL: z.string().optional(),
  SERVICE_ACCOUNT_PASSWORD: z.string().optional(),
  /** Jobs this orchestrator runs at once, and jobs allowed to wait before jobs.create says "busy". */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).default(4),
  MAX_QUEUED_JOBS: z.coerce.number().int().min(1).default(200),
  /** Per user: unfinished jobs at once, and new jobs per minute. */
  MAX_ACTIVE_JOBS_PER_USER: z.coerce.number().int().min(1).default(20),
  MAX_JOBS_PER_MINUTE_PER_USER: z.coerce.number().int().min(1).default(60),
  JOB_TIMEOUT_MS: z.coerce.number().int().positive().default(15 * 60_000),
  /** A service that sends nothing for this long is given up on for that attempt. */
  STEP_IDLE_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  MAX_JOB_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
})

export type OrchestratorConfig = ReturnType<typeof loadConfig>

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = Env.safeParse(env)
  if (!parsed.success) throw new Error(`Orchestrator configuration is incomplete: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}. Start it with \`npm run dev\` (README).`)
  const e = parsed.data
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
    s3: e.STORAGE_BUCKET ? { bucket: e.STORAGE_BUCKET, endpoint: e.S3_ENDPOINT, region: e.S3_REGION } : null,
    services: { upscale: urls(e.UPSCALE_SERVICE_URLS), denoise: urls(e.DENOISE_SERVICE_URLS), enhance: urls(e.ENHANCE_SERVICE_URLS), 'remove-text': urls(e.REMOVE_TEXT_SERVICE_URLS) },
    limits: limitsFromEnv(env),
    serviceAccount: e.SERVICE_ACCOUNT_EMAIL && e.SERVICE_ACCOUNT_PASSWORD ? { email: e.SERVICE_ACCOUNT_EMAIL, password: e.SERVICE_ACCOUNT_PASSWORD } : null,
    sqs: e.JOB_QUEUE_URL ? { queueUrl: e.JOB_QUEUE_URL, visibilityTimeoutSeconds: e.JOB_QUEUE_VISIBILITY_TIMEOUT_S, endpoint: e.SQS_ENDPOINT, region: e.SQS_REGION } : null,
    jobConcurrency: e.JOB_CONCURRENCY,
    maxQueuedJobs: e.MAX_QUEUED_JOBS,
    maxActiveJobsPerUser: e.MAX_ACTIVE_JOBS_PER_USER,
    maxJobsPerMinutePerUser: e.MAX_JOBS_PER_MINUTE_PER_USER,
    jobTimeoutMs: e.JOB_TIMEOUT_MS,
    stepIdleTimeoutMs: e.STEP_IDLE_TIMEOUT_MS,
    maxJobAttempts: e.MAX_JOB_ATTEMPTS,
  }
}

const urls = (list: string) => list.split(',').map((u) => u.trim()).filter(Boolean)
