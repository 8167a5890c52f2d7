import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp as createH3App, createRouter, toNodeListener } from 'h3'
import { stackEnv } from './auth'

/**
 * The orchestrator's real HTTP entry points (Nitro's middleware and route files) mounted on h3,
 * the server Nitro itself runs on, on a free loopback port. They read the process-wide app
 * (useApp), built from the test stack's environment.
 */
export async function startNitroRoutes() {
  Object.assign(process.env, stackEnv())
  const [trpc, file, health, metrics, bodyLimit, csrf] = await Promise.all([
    import('../../server/api/trpc/[trpc]'),
    import('../../server/api/jobs/[id]/[file].get'),
    import('../../server/api/health.get'),
    import('../../server/api/metrics.get'),
    import('../../server/middleware/body-limit'),
    import('../../server/middleware/csrf'),
  ])
  const app = createH3App()
  // Nitro runs server/middleware in file-name order: body-limit, then csrf.
  app.use(bodyLimit.default)
  app.use(csrf.default)
  const router = createRouter()
  router.use('/api/trpc/**', trpc.default)
  router.get('/api/jobs/:id/:file', file.default)
  router.get('/api/health', health.default)
  router.get('/api/metrics', metrics.default)
  app.use(router)
  const server = createServer(toNodeListener(app)).listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
