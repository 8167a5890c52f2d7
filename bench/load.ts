// Load test (issue 8): N simulated users create small jobs for D seconds against the local stack on
// loopback, then report jobs.create latency, answers by status, jobs finished and peak memory.
//   npm run build && npx tsx bench/load.ts [--users 50] [--seconds 60]
// Bounded in count and time; talks only to 127.0.0.1. Results go to bench/results/load.md.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { createJobFormData } from '../contracts/api'
import { freePort, startProcess, stopAll, waitFor } from '../scripts/lib/local-stack'

const { values } = parseArgs({ options: { users: { type: 'string', default: '50' }, seconds: { type: 'string', default: '60' } } })
const USERS = Number(values.users)
const SECONDS = Number(values.seconds)
const webPort = await freePort()
const base = `http://127.0.0.1:${webPort}`
const stack = startProcess(
  'stack',
  process.execPath,
  [
    '--import',
    'tsx',
    'scripts/dev.ts',
    '--prod',
    '--web-port',
    String(webPort),
    '--cognito-port',
    String(await freePort()),
    '--service-port-offset',
    String(20000 + (webPort % 20000) - 8101),
    '--data-dir',
    `/tmp/restora-load-${webPort}`,
  ],
  { LOG_LEVEL: 'warn', MAX_ACTIVE_JOBS_PER_USER: '5', MAX_JOBS_PER_MINUTE_PER_USER: '1000' },
  { quiet: true },
)
try {
  await waitFor(`${base}/api/health`, stack, 300_000)
  const image = new Uint8Array(
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#8a6' } })
      .png()
      .toBuffer(),
  )

  // One account per simulated user, signed up through the API (confirmed at once locally).
  const sessions = await Promise.all(
    Array.from({ length: USERS }, async (_, i) => {
      const response = await fetch(`${base}/api/trpc/auth.signUp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `load-${webPort}-${i}@example.com`, password: 'load-test-password' }),
      })
      if (!response.ok) throw new Error(`sign-up ${i}: HTTP ${response.status}`)
      return response.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ')
    }),
  )

  const latencies: number[] = []
  const statuses = new Map<number, number>()
  const created: { cookie: string; id: string }[] = []
  const peakRss = new Map<string, number>()
  const sampleMemory = () => {
    // Every process of the stack: its command line names the piece.
    const out = execFileSync('ps', ['-eo', 'rss=,args='], { encoding: 'utf8' })
    for (const line of out.split('\n')) {
      const match = /^\s*(\d+)\s+(.*)$/.exec(line)
      if (!match) continue
      const name = /cognito-local/.test(match[2]!)
        ? 'cognito'
        : /upscale\.ts/.test(match[2]!)
          ? 'upscale service'
          : /remove-text\.ts/.test(match[2]!)
            ? 'remove-text service'
            : /\.output\/server/.test(match[2]!)
              ? 'orchestrator (Nuxt)'
              : null
      if (name) peakRss.set(name, Math.max(peakRss.get(name) ?? 0, Number(match[1]) / 1024))
    }
  }
  const memoryTimer = setInterval(sampleMemory, 1000)
  const deadline = Date.now() + SECONDS * 1000
  await Promise.all(
    sessions.map(async (cookie) => {
      while (Date.now() < deadline) {
        const form = createJobFormData({ image: new File([image], 'small.png'), steps: [{ task: 'upscale', model: 'esrgan-slim', scale: 2 }] })
        const started = performance.now()
        const response = await fetch(`${base}/api/trpc/jobs.create`, { method: 'POST', headers: { cookie }, body: form })
        latencies.push(performance.now() - started)
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        const body = await response.json()
        if (response.ok) created.push({ cookie, id: body.result.data.id })
        // A refused create (busy / over the user's limit) waits as the answer asks; others think for a moment.
        await new Promise((r) => setTimeout(r, response.ok ? 200 : 1000))
      }
    }),
  )
  // Let the queue drain (bounded), then count how each accepted job ended.
  const outcomes = new Map<string, number>()
  const drainUntil = Date.now() + 180_000
  for (const job of created) {
    for (;;) {
      const response = await fetch(`${base}/api/trpc/jobs.get?input=${encodeURIComponent(JSON.stringify({ id: job.id }))}`, { headers: { cookie: job.cookie } })
      const status = response.ok ? (await response.json()).result.data.status : `HTTP ${response.status}`
      if (!['queued', 'running'].includes(status) || Date.now() > drainUntil) {
        outcomes.set(status, (outcomes.get(status) ?? 0) + 1)
        break
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  clearInterval(memoryTimer)
  sampleMemory()
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(0)
  const fiveXX = [...statuses].filter(([code]) => code >= 500).reduce((n, [, c]) => n + c, 0)
  const report = `# Load test: ${USERS} users, ${SECONDS} s, loopback (${new Date().toISOString().slice(0, 10)})

Each user signs up, then creates upscale x2 (fast) jobs of a 64x64 PNG back to back (200 ms think time,
1 s after a refusal); per-user limit 5 unfinished jobs. Machine: 2 cores, everything on one host.

| measure | value |
|---|---|
| jobs.create requests | ${latencies.length} |
| answers by HTTP status | ${[...statuses]
    .sort()
    .map(([code, count]) => `${code}: ${count}`)
    .join(', ')} |
| 5xx answers | ${fiveXX} |
| jobs.create latency p50 / p95 / max | ${pct(50)} / ${pct(95)} / ${latencies.at(-1)!.toFixed(0)} ms |
| accepted jobs and how they ended | ${created.length}: ${[...outcomes].map(([s, c]) => `${s} ${c}`).join(', ')} |
| jobs lost (accepted, never settled) | ${(outcomes.get('queued') ?? 0) + (outcomes.get('running') ?? 0)} |
| peak RSS per process | ${[...peakRss].map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`).join(', ')} |

429 answers are back-pressure (a user over the limit, or the queue full): the client is told to retry.
`
  writeFileSync('bench/results/load.md', report)
  console.log(report)
  process.exitCode = fiveXX > 0 ? 1 : 0
} finally {
  await stopAll()
}
