import { createAccessTokenVerifier, issuerFromEnv } from '../../lib/auth/access-token'
import { intFromEnv as int, limitsFromEnv } from '../../lib/limits'
import { exitWithParent } from '../../lib/exit-with-parent'
import { createLogger } from '../../lib/log'
import type { ModelAdapter } from '../models/adapter'
import { createInferenceService } from './http-server'

/** Starts one inference service process: config from the environment, models loaded before /readyz is green. */
export async function startService(name: string, adapters: ModelAdapter[], defaultPort: number) {
  exitWithParent()
  const logger = createLogger(name)
  const service = createInferenceService({
    name,
    version: process.env.npm_package_version ?? '0.1.0',
    adapters,
    limits: limitsFromEnv(),
    verifyToken: createAccessTokenVerifier(issuerFromEnv()),
    maxConcurrentRuns: int(process.env.MAX_CONCURRENT_RUNS, 1),
    maxQueuedRuns: int(process.env.MAX_QUEUED_RUNS, 16),
    logger,
  })
  const port = int(process.env.PORT, defaultPort)
  const host = process.env.HOST ?? '127.0.0.1'
  await new Promise<void>((resolve) => service.server.listen(port, host, resolve))
  logger.info({ url: `http://${host}:${port}` }, 'listening')
  try {
    await service.prepare()
  } catch (error) {
    logger.fatal(`cannot start: ${(error as Error).message}`)
    process.exit(1)
  }
  const stop = () => service.server.close(() => process.exit(0))
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return service
}
