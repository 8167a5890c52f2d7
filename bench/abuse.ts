// Abuse run (issue 13): bounded probes against the built app on loopback, as a careless heavy user
// or an attacker would send them, while /api/health is polled. Reports, per probe, the web
// process's peak RSS, /api/health p95 latency and every 5xx answer.
//   npm run build && npx tsx bench/abuse.ts [--root DIR] [--label after]
// --root runs the web app built in another checkout (e.g. the code before a change) against this
// checkout's services, so "before" and "after" are measured on the same host in one sitting.
// Bounded in count and time; talks only to 127.0.0.1. Results: bench/results/abuse-<label>.md.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { chmod, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { randomUUID } from 'node:crypto'
import sharp from 'sharp'
import { createJobFormData } from '../contracts/api'
import { cognitoEnv, freePort, startCognito, startInferenceService, startProcess, stopAll, waitFor } from '../scripts/lib/local-stack'
import { LocalFolderStore } from '../server/storage/local-folder-store'
import { openDatabase } from '../server/db/database'
import { JobRepository, type JobRecord } from '../server/jobs/repository'
import { startPostgres } from '../scripts/lib/postgres'

const { values } = parseArgs({ options: { root: { type: 'string', default: '.' }, label: { type: 'string', default: 'after' } } })
const root = resolve(values.root!)
const dir = await mkdtemp(join(tmpdir(), 'restora-abuse-'))
const fixtures = resolve(process.env.FIXTURES_DIR ?? resolve(import.meta.dirname, '../../shared/fixtures/images'))

await chmod(dir, 0o711) // PostgreSQL runs as its own user
const [cognito, postgres] = await Promise.all([startCognito(await freePort(), join(dir, 'cognito')), startPostgres(join(dir, 'postgres'), await freePort())])
// The job database on a server, as in AWS (a build from before the database ignores it).
const env: Record<string, string> = {
  ...(cognitoEnv(cognito) as Record<string, string>),
  DATA_DIR: join(dir, 'store'),
  DATABASE_URL: postgres.url,
  LOG_LEVEL: 'warn',
  DENOISE_SERVICE_URLS: '',
  ENHANCE_SERVICE_URLS: '',
}
const upscalePort = await freePort()
const removeTextPort = await freePort()
env.UPSCALE_SERVICE_URLS = `http://127.0.0.1:${upscalePort}`
env.REMOVE_TEXT_SERVICE_URLS = `http://127.0.0.1:${removeTextPort}`
await Promise.all([startInferenceService('upscale', upscalePort, env), startInferenceService('remove-text', removeTextPort, env)])
const webPort = await freePort()
const base = `http://127.0.0.1:${webPort}`
const web = startProcess('web', process.execPath, [join(root, '.output/server/index.mjs')], {
  ...env,
  PORT: String(webPort),
  HOST: '127.0.0.1',
  NITRO_PORT: String(webPort),
  NITRO_HOST: '127.0.0.1',
})

/** Web RSS sampled every 100 ms from /proc; each probe reads its own peak. */
let peakRss = 0
const rssNow = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${web.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssNow())), 100)

/**
 * /api/health polled all along, five times a second, from a process of its own: the probes keep
 * this one busy (300 MB bodies), which must not count as the server's latency.
 */
const health: { at: number; ms: number; status: number }[] = []
const pollerScript = `
  const url = process.argv[1]
  for (;;) {
    const started = performance.now()
    const status = await fetch(url, { signal: AbortSignal.timeout(30000) }).then(async (r) => (await r.arrayBuffer(), r.status), () => 0)
    console.log(JSON.stringify({ at: Date.now(), ms: performance.now() - started, status }))
    await new Promise((r) => setTimeout(r, 200))
  }`
const poller = spawn(process.execPath, ['--input-type=module', '-e', pollerScript, `${base}/api/health`], { stdio: ['ignore', 'pipe', 'inherit'] })
let pollerBuffer = ''
poller.stdout.on('data', (chunk: Buffer) => {
  pollerBuffer += chunk
  const lines = pollerBuffer.split('\n')
  pollerBuffer = lines.pop()!
  for (const line of lines) if (line) health.push(JSON.parse(line))
})

interface Row {
  probe: string
  outcome: string
  seconds: number
  rssBefore: number
  rssPeak: number
  healthP95: number
  fiveXX: number
}
const rows: Row[] = []

/** Runs one probe; its answers' statuses count toward the 5xx column along with /api/health's. */
async function probe(name: string, run: (statuses: number[]) => Promise<string>) {
  await new Promise((r) => setTimeout(r, 2000)) // let the previous probe's memory settle
  const rssBefore = rssNow()
  peakRss = rssBefore
  const from = Date.now()
  const statuses: number[] = []
  const started = performance.now()
  const outcome = await run(statuses)
  const seconds = (performance.now() - started) / 1000
  // Samples are placed by the poller's own clock: this process may read them late while a probe keeps it busy.
  const to = Date.now()
  await new Promise((r) => setTimeout(r, 500))
  const inWindow = health.filter((h) => h.at >= from && h.at <= to)
  const polled = inWindow.map((h) => h.ms).sort((a, b) => a - b)
  const fiveXX = statuses.filter((s) => s >= 500).length + inWindow.filter((h) => h.status >= 500 || h.status === 0).length
  rows.push({ probe: name, outcome, seconds, rssBefore, rssPeak: peakRss, healthP95: polled[Math.floor(polled.length * 0.95)] ?? NaN, fiveXX })
  console.log(rows.at(-1))
}

const tally = (statuses: number[]) =>
  [...new Set(statuses)]
    .sort()
    .map((s) => `${statuses.filter((x) => x === s).length}x ${s || 'reset'}`)
    .join(', ')

try {
  await waitFor(`${base}/api/health`, web, 300_000)
  const users = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const email = `abuse-${i}-${randomUUID().slice(0, 6)}@example.com`
      const response = await fetch(`${base}/api/trpc/auth.signUp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'abuse-test-password' }),
      })
      if (!response.ok) throw new Error(`sign-up: HTTP ${response.status}`)
      const cookie = response.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ')
      const me = await (await fetch(`${base}/api/trpc/auth.me`, { headers: { cookie } })).json()
      return { cookie, sub: me.result.data.sub as string }
    }),
  )
  const photo = readFileSync(join(fixtures, 'chelsea.png'))

  await probe('idle (baseline, 5 s)', async () => {
    await new Promise((r) => setTimeout(r, 5000))
    return '-'
  })

  // Finding 3: four uploads with a 300 MB image part each.
  const huge = new Blob([new Uint8Array(300 * 1024 * 1024)])
  await probe('4 concurrent jobs.create, 300 MB image part each', async (statuses) => {
    const times: number[] = []
    await Promise.all(
      users.slice(0, 4).map(async ({ cookie }) => {
        const form = new FormData()
        form.set('image', new File([huge], 'huge.png', { type: 'image/png' }))
        form.set('steps', JSON.stringify([{ task: 'upscale', model: 'esrgan-slim', scale: 2 }]))
        const started = performance.now()
        const status = await fetch(`${base}/api/trpc/jobs.create`, {
          method: 'POST',
          headers: { cookie },
          body: form,
          signal: AbortSignal.timeout(120_000),
        }).then(
          async (r) => (await r.arrayBuffer(), r.status),
          () => 0,
        )
        times.push((performance.now() - started) / 1000)
        statuses.push(status)
      }),
    )
    return `${tally(statuses)}; answered after ${Math.min(...times).toFixed(1)}-${Math.max(...times).toFixed(1)} s`
  })

  // Finding 3: an 8000x8000 result (a 512 px photo upscaled smoothly, as a real x16 result would look), stored directly.
  const owner = users[4]!
  const id = randomUUID()
  const big = await sharp(readFileSync(join(fixtures, 'astronaut.png')))
    .resize(8000, 8000, { kernel: 'lanczos3' })
    .png({ compressionLevel: 6 })
    .toBuffer()
  const store = new LocalFolderStore(env.DATA_DIR!)
  const base_ = `users/${owner.sub}/jobs/${id}`
  const now = new Date().toISOString()
  const facts = (width: number, height: number, bytes: number) => ({ width, height, bytes, contentType: 'image/png' })
  await store.put(`${base_}/input`, photo, 'image/png')
  await store.put(`${base_}/step-0`, big, 'image/png')
  const record = {
    id,
    ownerSub: owner.sub,
    status: 'succeeded',
    steps: [
      { spec: { task: 'upscale', model: 'esrgan-slim', options: { scale: 8 } }, status: 'succeeded', progress: null, output: facts(8000, 8000, big.length) },
    ],
    currentStep: 0,
    batchId: null,
    userMask: false,
    inputName: 'big.png',
    input: facts(1000, 1000, photo.length),
    output: facts(8000, 8000, big.length),
    error: null,
    createdAt: now,
    updatedAt: now,
    attempts: 1,
  }
  // Both ways a build may read it: a JSON record in the store (before the database), a row (after).
  await store.put(`${base_}/job.json`, Buffer.from(JSON.stringify(record)), 'application/json')
  const database = await openDatabase({ url: postgres.url, ssl: false, poolSize: 1, pgliteDir: 'unused' })
  await new JobRepository(Promise.resolve(database.db)).importRecords([record as JobRecord])
  await database.close()
  for (const query of ['format=webp', 'thumb']) {
    await probe(`20 concurrent GET result?${query} of an 8000x8000 result (${(big.length / 1048576).toFixed(0)} MB PNG)`, async (statuses) => {
      const times: number[] = []
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const started = performance.now()
          const status = await fetch(`${base}/api/jobs/${id}/result?${query}`, {
            headers: { cookie: owner.cookie },
            signal: AbortSignal.timeout(300_000),
          }).then(
            async (r) => (await r.arrayBuffer(), r.status),
            () => 0,
          )
          times.push((performance.now() - started) / 1000)
          statuses.push(status)
        }),
      )
      times.sort((a, b) => a - b)
      return `${tally(statuses)}; median ${times[10]!.toFixed(1)} s, slowest ${times.at(-1)!.toFixed(1)} s`
    })
  }

  // Finding 4: four users flood text.detect while a fifth user's remove-text job runs.
  await probe("text.detect flood (4 users x 10 at once, 15 s) during another user's remove-text job", async (statuses) => {
    const victim = users[5]!
    const deadline = Date.now() + 15_000
    const flood = Promise.all(
      users.slice(0, 4).flatMap(({ cookie }) =>
        Array.from({ length: 10 }, async () => {
          while (Date.now() < deadline) {
            const form = new FormData()
            form.set('image', new File([photo], 'chelsea.png', { type: 'image/png' }))
            const status = await fetch(`${base}/api/trpc/text.detect`, {
              method: 'POST',
              headers: { cookie },
              body: form,
              signal: AbortSignal.timeout(150_000),
            }).then(
              async (r) => (await r.arrayBuffer(), r.status),
              () => 0,
            )
            statuses.push(status)
            if (status === 429) await new Promise((r) => setTimeout(r, 1000))
          }
        }),
      ),
    )
    // The other user's job arrives while the flood is on.
    await new Promise((r) => setTimeout(r, 2000))
    const created = await fetch(`${base}/api/trpc/jobs.create`, {
      method: 'POST',
      headers: { cookie: victim.cookie },
      body: createJobFormData({ image: new File([photo], 'chelsea.png'), steps: [{ task: 'remove-text', model: 'text-removal', scale: 1 }] }),
    })
    const jobId = (await created.json()).result?.data?.id as string | undefined
    await flood
    let job: { status: string; error: { message: string } | null } | null = null
    for (let i = 0; i < 600 && jobId; i++) {
      job = (
        await (
          await fetch(`${base}/api/trpc/jobs.get?input=${encodeURIComponent(JSON.stringify({ id: jobId }))}`, { headers: { cookie: victim.cookie } })
        ).json()
      ).result.data
      if (job && !['queued', 'running'].includes(job.status)) break
      await new Promise((r) => setTimeout(r, 500))
    }
    return `detect answers ${tally(statuses)}; the other user's job ${job ? job.status : 'was not created'}${job?.error ? ` ("${job.error.message}")` : ''}`
  })
} finally {
  poller.kill()
  clearInterval(sampler)
  await stopAll()
}

const report = `# Abuse run (${values.label}): ${new Date().toISOString().slice(0, 10)}, loopback, 2 cores

Web app built from \`${values.root === '.' ? 'this checkout' : values.root}\`; the upscale and remove-text services of this checkout.
RSS is the web process's (Nitro), sampled every 100 ms; /api/health is polled five times a second
throughout from a process of its own; 5xx counts the probe's own answers plus /api/health's (a failed poll counts as one).
A "reset" is Node's fetch reporting EPIPE: the server answered 413 from the Content-Length at once (12 ms with curl, which waits for 100-continue) and stopped reading, and fetch, still sending, reports the broken pipe instead of the answer; a build from before read all 300 MB first.

| probe | outcome | s | web RSS before -> peak (MB) | /api/health p95 (ms) | 5xx |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r.probe} | ${r.outcome} | ${r.seconds.toFixed(1)} | ${r.rssBefore.toFixed(0)} -> ${r.rssPeak.toFixed(0)} | ${r.healthP95.toFixed(0)} | ${r.fiveXX} |`).join('\n')}
`
writeFileSync(`bench/results/abuse-${values.label}.md`, report)
console.log(report)
process.exit(0)
