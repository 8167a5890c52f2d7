// Runs the Cognito user-pool emulator (npm: cognito-local) as its own process on loopback.
// Usage: tsx scripts/cognito-local.ts <port> <data-dir>. The emulator keeps its data in
// <data-dir>/.cognito and always reads it relative to the working directory, hence the chdir.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { exitWithParent } from '../lib/exit-with-parent'

const port = Number(process.argv[2] ?? 9329)
const dataDir = resolve(process.argv[3] ?? '.cognito-data')
const host = '127.0.0.1'
const require = createRequire(import.meta.url)
exitWithParent()

mkdirSync(resolve(dataDir, '.cognito'), { recursive: true })
writeFileSync(
  resolve(dataDir, '.cognito/config.json'),
  // Tokens must name the issuer we really listen on, or verification (rightly) fails.
  JSON.stringify({ ServerConfig: { port, hostname: host }, TokenConfig: { IssuerDomain: `http://${host}:${port}` } }),
)
process.chdir(dataDir)
const { createDefaultServer } = require('cognito-local')
// cognito-local bundles its own pino; its per-request stack traces are noise unless debugging.
const pino = require(require.resolve('pino', { paths: [require.resolve('cognito-local')] }))
const server = await createDefaultServer(pino({ level: process.env.COGNITO_LOCAL_LOG ?? 'warn' }))
const http = await server.start()
console.log(`cognito-local listening on http://${host}:${port} (data in ${dataDir}/.cognito)`)
const stop = () => http.close(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
