// A second orchestrator process for the concurrency tests: builds its own App from the
// environment passed in (same database, store and services as the test's), signs in and creates
// jobs at once, then prints how many were accepted. Its queue never runs them.
import { readFile } from 'node:fs/promises'
import { createJobFormData } from '../../contracts/api'
import { createApp } from '../../server/app'
import { loadConfig } from '../../server/config'
import { createCallerFactory } from '../../server/trpc/init'
import { appRouter } from '../../server/trpc/routers'
import type { JobQueue } from '../../server/jobs/queue'
import type { SessionCookies } from '../../server/trpc/init'

const { env, email, password, count, image } = JSON.parse(process.argv[2]!) as {
  env: Record<string, string>
  email: string
  password: string
  count: number
  image: string
}
const idleQueue: JobQueue = { enqueue: async () => {}, consume: () => {}, depth: async () => 0, stop: async () => {} }
const app = createApp(loadConfig({ ...process.env, ...env }), { queue: idleQueue })
const session: SessionCookies = {
  accessToken: null,
  refreshToken: null,
  setTokens: (tokens) => void ((session.accessToken = tokens.accessToken), (session.refreshToken = tokens.refreshToken ?? session.refreshToken)),
  clear: () => void ((session.accessToken = null), (session.refreshToken = null)),
}
const caller = createCallerFactory(appRouter)({ app, session, requestId: 'second-process', clientIp: '127.0.0.1' })
await caller.auth.signIn({ email, password })
const bytes = await readFile(image)
// Wait for the parent's go, so both processes create at the same moment.
await new Promise((resolve) => process.stdin.once('data', resolve))
const outcomes = await Promise.all(
  Array.from({ length: count }, () =>
    caller.jobs.create(createJobFormData({ image: new File([bytes], 'chelsea.png'), steps: [{ task: 'upscale', model: 'esrgan-slim', scale: 2 }] })).then(
      () => 'accepted',
      (e: Error) => e.message,
    ),
  ),
)
console.log(JSON.stringify({ accepted: outcomes.filter((o) => o === 'accepted').length, refused: outcomes.filter((o) => o !== 'accepted') }))
process.exit(0)
