import { createAccessTokenVerifier, issuerFromEnv } from '../../lib/auth/access-token'
import { intFromEnv as int, limitsFromEnv } from '../../lib/limits'
import { exitWithParent } from '../../lib/exit-with-parent'
import { createLogger } from '../../lib/log'
import type { ModelAdapter } from '../models/adapter'
import { createInferenceService, DEFAULT_HTTP_OPTIONS, type ServiceHttpOptions } from './http-server'

/** The service's transport limits from SERVICE_* variables (see README, "Configuration"). */
export function httpOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceHttpOptions {
  const d = DEFAULT_HTTP_OPTIONS
  return {
    headersTimeoutMs: int(env.SERVICE_HEADERS_TIMEOUT_MS, d.headersTimeoutMs),
    requestTimeoutMs: int(env.SERVICE_REQUEST_TIMEOUT_MS, d.requestTimeoutMs),
    keepAliveTimeoutMs: int(env.SERVICE_KEEP_ALIVE_TIMEOUT_MS, d.keepAliveTimeoutMs),
    connectionsCheckingIntervalMs: int(env.SERVICE_CONNECTIONS_CHECK_MS, d.connectionsCheckingIntervalMs),
    maxConnections: int(env.SERVICE_MAX_CONNECTIONS, d.maxConnections),
  }
}

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
    http: httpOptionsFromEnv(),
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
