// Runs the whole system locally: Cognito emulator, inference services, and the web app with
// the tRPC orchestrator, each its own process on loopback. No cloud account needed.
//   npm run dev                 development server with hot reload (http://127.0.0.1:3000)
//   npm run dev -- --prod       built app (.output), as the end-to-end tests run it
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { cognitoEnv, DEMO_USER, SERVICES, startCognito, startInferenceService, startProcess, stopAll, waitFor, type ServiceName } from './lib/local-stack'

const { values } = parseArgs({
  options: {
    prod: { type: 'boolean', default: false },
    'web-port': { type: 'string', default: process.env.WEB_PORT ?? '3000' },
    'cognito-port': { type: 'string', default: process.env.COGNITO_PORT ?? '9329' },
    // Each service listens on its task's port (contracts/tasks.ts) unless this moves them all by an offset.
    'service-port-offset': { type: 'string', default: process.env.SERVICE_PORT_OFFSET ?? '0' },
    'data-dir': { type: 'string', default: process.env.DATA_DIR ?? '.data' },
  },
})

const dataDir = resolve(values['data-dir']!)
let stopping = false
async function shutdown(code: number) {
  if (stopping) return
  stopping = true
  await stopAll()
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(0))
process.on('SIGTERM', () => void shutdown(0))

try {
  const cognito = await startCognito(Number(values['cognito-port']), resolve(dataDir, 'cognito'))
  const env: NodeJS.ProcessEnv = {
    ...cognitoEnv(cognito),
    DATA_DIR: resolve(dataDir, 'store'),
    // The job database: embedded PostgreSQL (PGlite) unless DATABASE_URL names a server.
    PGLITE_DIR: resolve(dataDir, 'db'),
    NUXT_PUBLIC_DEMO_EMAIL: DEMO_USER.email,
    NUXT_PUBLIC_DEMO_PASSWORD: DEMO_USER.password,
  }
  const names = Object.keys(SERVICES) as ServiceName[]
  const port = (name: ServiceName) => SERVICES[name].port + Number(values['service-port-offset'])
  for (const name of names) env[SERVICES[name].urlsEnv] = `http://127.0.0.1:${port(name)}`
  const services = Promise.all(names.map((name) => startInferenceService(name, port(name), env)))
  const webPort = values['web-port']!
  let web
  if (values.prod) {
    if (!existsSync('.output/server/index.mjs')) throw new Error('No build found: run `npm run build` first.')
    web = startProcess('web', process.execPath, ['.output/server/index.mjs'], {
      ...env,
      PORT: webPort,
      HOST: '127.0.0.1',
      NITRO_PORT: webPort,
      NITRO_HOST: '127.0.0.1',
    })
  } else {
    web = startProcess('web', process.execPath, [resolve('node_modules/nuxt/bin/nuxt.mjs'), 'dev', '--port', webPort, '--host', '127.0.0.1'], env)
  }
  await services
  await waitFor(`http://127.0.0.1:${webPort}/api/health`, web, 300_000)
  console.log(`\n  Restora is running: http://127.0.0.1:${webPort}\n  Demo user: ${DEMO_USER.email} / ${DEMO_USER.password}\n  Ctrl-C stops everything.\n`)
} catch (error) {
  console.error(`\nCould not start the local stack: ${(error as Error).message}`)
  await shutdown(1)
}
