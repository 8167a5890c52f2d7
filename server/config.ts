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
  /** Comma-separated replica URLs of each service; a task with none is simply not offered. */
  UPSCALE_SERVICE_URLS: z.string().default('http://127.0.0.1:8101'),
  DENOISE_SERVICE_URLS: z.string().default(''),
  REMOVE_TEXT_SERVICE_URLS: z.string().default(''),
  JOB_TIMEOUT_MS: z.coerce.number().int().positive().default(15 * 60_000),
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
    services: { upscale: urls(e.UPSCALE_SERVICE_URLS), denoise: urls(e.DENOISE_SERVICE_URLS), 'remove-text': urls(e.REMOVE_TEXT_SERVICE_URLS) },
    limits: limitsFromEnv(env),
    jobTimeoutMs: e.JOB_TIMEOUT_MS,
    maxJobAttempts: e.MAX_JOB_ATTEMPTS,
  }
}

const urls = (list: string) => list.split(',').map((u) => u.trim()).filter(Boolean)
