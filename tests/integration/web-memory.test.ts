import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { request } from 'node:http'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNitroRoutes } from '../helpers/nitro-server'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { fixture } from '../helpers/images'

/**
 * The web process's memory under hostile or merely heavy traffic, through the real Nitro route
 * files and middleware mounted on h3 (as tests/integration/http-routes.test.ts does): request
 * bodies are refused while streaming, never buffered past the limit, and format conversions and
 * thumbnails run a bounded number at a time, once per derived image, reused afterwards.
 * TEST_SERVICES= (empty) is enough: no inference service is used.
 */
let base: string
let app: typeof import('../../server/app')
const MiB = 1024 * 1024

let nitro: Awaited<ReturnType<typeof startNitroRoutes>>
beforeAll(async () => {
  nitro = await startNitroRoutes()
  base = nitro.base
  app = await import('../../server/app')
})
afterAll(() => nitro?.close())

async function signIn() {
  const response = await fetch(`${base}/api/trpc/auth.signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: DEMO_USER.email, password: DEMO_USER.password }),
  })
  expect(response.status).toBe(200)
  const cookies = response.headers.getSetCookie().map((c) => c.split(';')[0]!)
  const token = cookies.find((c) => c.startsWith('rs_access='))!.slice('rs_access='.length)
  // The job database opens in the background on first use; it must not count as growth below.
  await (app.useApp() as unknown as { database?: Promise<unknown> }).database
  return { header: cookies.join('; '), sub: (await app.useApp().verifyAccessToken(token)).sub }
}

/** Samples this process's RSS while `work` runs; answers the peak growth over the start, in MiB. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ value: T; growthMiB: number }> {
  const start = process.memoryUsage.rss()
  let peak = start
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10)
  try {
    const value = await work()
    peak = Math.max(peak, process.memoryUsage.rss())
    return { value, growthMiB: (peak - start) / MiB }
  } finally {
    clearInterval(timer)
  }
}

/**
 * Sends a multipart jobs.create whose image part is `total` bytes, as fast as the server takes
 * it, declared by Content-Length or chunked; stops when the answer comes. `written`: the bytes
 * the socket accepted (what the server read, plus what the kernel buffers hold).
 */
async function hugeUpload(options: { total: number; chunked: boolean; cookie?: string }) {
  const boundary = `----restora${randomUUID()}`
  const head = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="steps"\r\n\r\n[{"task":"upscale","model":"esrgan-medium","scale":2}]\r\n--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="huge.png"\r\ncontent-type: image/png\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const headers: Record<string, string> = { 'content-type': `multipart/form-data; boundary=${boundary}`, ...(options.cookie ? { cookie: options.cookie } : {}) }
  if (!options.chunked) headers['content-length'] = String(head.length + options.total + tail.length)
  const started = performance.now()
  const req = request(`${base}/api/trpc/jobs.create`, { method: 'POST', headers })
  let written = 0
  let finished = false
  const answer = new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
    req.on('response', (res) => {
      const ms = performance.now() - started
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), ms }))
      res.on('error', reject)
    })
    req.on('error', reject)
  }).finally(() => (finished = true))
  // The server may close the connection while the rest is still being written: that is the point.
  const settled = answer.then(
    () => undefined,
    () => undefined,
  )
  req.write(head)
  const chunk = Buffer.alloc(MiB, 0x89)
  for (let sent = 0; sent < options.total && !finished; sent += chunk.length) {
    const ok = req.write(chunk, (error) => {
      if (!error) written += chunk.length
    })
    if (!ok) await Promise.race([once(req, 'drain').catch(() => undefined), settled, new Promise((r) => setTimeout(r, 5_000))])
  }
  if (!finished) req.end(tail)
  const result = await answer.catch((error: Error) => ({ status: 0, body: String(error), ms: performance.now() - started }))
  req.destroy()
  return { ...result, written }
}

describe('request bodies are limited while streaming', () => {
  it('answers 413 to a declared 300 MB body before reading it, and to a chunked one as soon as it passes the limit', { timeout: 120_000 }, async () => {
    const limit = app.useApp().config.maxRequestBytes
    expect(limit).toBe(51 * MiB) // 2 x 25 MB + 1 MiB, the default
    // Signed in, as the finding's probe was: without a session tRPC refuses before reading the body.
    const { header: cookie } = await signIn()

    const { value: results, growthMiB } = await peakRssGrowth(() =>
      Promise.all([
        ...Array.from({ length: 4 }, () => hugeUpload({ total: 300 * MiB, chunked: false, cookie })),
        ...Array.from({ length: 4 }, () => hugeUpload({ total: 300 * MiB, chunked: true, cookie })),
      ]),
    )
    const declared = results.slice(0, 4)
    const chunked = results.slice(4)
    console.log('declared 300 MB:', declared.map((r) => `${r.status} in ${r.ms.toFixed(0)} ms, ${(r.written / MiB).toFixed(0)} MiB written`).join('; '))
    console.log('chunked past the limit:', chunked.map((r) => `${r.status} in ${r.ms.toFixed(0)} ms, ${(r.written / MiB).toFixed(0)} MiB written`).join('; '))
    console.log(`RSS peak growth over 8 concurrent uploads: ${growthMiB.toFixed(0)} MiB`)
    for (const r of declared) {
      expect(r.status).toBe(413)
      expect(r.ms).toBeLessThan(2_000)
      // Kernel socket buffers and a short grace while the answer is read, never the body itself.
      expect(r.written).toBeLessThan(32 * MiB)
    }
    for (const r of chunked) {
      expect(r.status).toBe(413)
      expect(r.written).toBeLessThan(limit + 32 * MiB)
    }
    // Without a session, a large body is refused before it is read (as the tRPC handler did).
    const anonymous = await hugeUpload({ total: 40 * MiB, chunked: false })
    expect(anonymous.status).toBe(401)
    expect(anonymous.written).toBeLessThan(32 * MiB)
    // The answer is a tRPC error the clients show as it is.
    const error = JSON.parse(declared[0]!.body).error
    expect(error.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 })
    expect(error.message).toMatch(/MB/)
    // Today's code buffered every body whole: 3.3 GB more for these eight.
    expect(growthMiB).toBeLessThan(300)
  })

  it('still hands a body under the limit to the tRPC handler, read once', async () => {
    const session = await signIn()
    // A form without its image field: only a handler that parsed this very body says so.
    const form = new FormData()
    form.set('junk', new File([Buffer.alloc(30 * MiB, 1)], 'junk.bin'))
    const response = await fetch(`${base}/api/trpc/text.detect`, { method: 'POST', headers: { cookie: session.header }, body: form })
    const body = await response.json()
    expect(response.status).toBe(400)
    expect(JSON.stringify(body.error)).toMatch(/image/i)
    // JSON mutations pass through the same way.
    expect((await fetch(`${base}/api/trpc/auth.me`, { headers: { cookie: session.header } })).status).toBe(200)
  })
})

describe('format conversions and thumbnails', () => {
  /** A succeeded job of the signed-in user whose result (a `size` x `size` PNG) is put straight into the store. */
  async function jobWithResult(sub: string, size: number) {
    const { useApp } = app
    const { jobKeys, resultKey } = await import('../../server/jobs/repository')
    const png = await sharp(fixture('chelsea.png')).resize(size, size, { fit: 'fill' }).png({ compressionLevel: 1 }).toBuffer()
    const now = new Date().toISOString()
    const facts = { width: size, height: size, bytes: png.length, contentType: 'image/png' }
    const job = {
      id: randomUUID(),
      ownerSub: sub,
      status: 'succeeded' as const,
      steps: [
        { spec: { task: 'upscale' as const, model: 'esrgan-medium', options: { scale: 2 } }, status: 'succeeded' as const, progress: null, output: facts },
      ],
      currentStep: 0,
      batchId: null,
      userMask: false,
      inputName: 'big.png',
      input: { ...facts, width: size / 2, height: size / 2 },
      output: facts,
      error: null,
      createdAt: now,
      updatedAt: now,
      attempts: 0,
    }
    await useApp().store.put(jobKeys(job).input, png, 'image/png')
    await useApp().store.put(resultKey(job), png, 'image/png')
    // The record as job creation stores it (a row in the job database, or a store object before it).
    const jobs = useApp().jobs as unknown as {
      createAll?: (sub: string, records: unknown[], limits: Record<string, number>) => Promise<void>
      save: (record: unknown) => Promise<void>
    }
    if (jobs.createAll) await jobs.createAll(sub, [job], { maxActive: 1e6, maxPerMinute: 1e6, maxStored: 1e6 })
    else await jobs.save(job)
    return job
  }

  /** Counts the store's writes under each job's derived/ folder. */
  function countDerivedWrites() {
    const store = app.useApp().store
    const writes: string[] = []
    const put = store.put.bind(store)
    store.put = (key, data, contentType) => {
      if (key.includes('/derived/')) writes.push(key)
      return put(key, data, contentType)
    }
    return { writes, restore: () => (store.put = put) }
  }

  it('converts a large result once per derived image under a bounded memory, then serves it from the store', { timeout: 300_000 }, async () => {
    const session = await signIn()
    const job = await jobWithResult(session.sub, 4000)
    const get = async (query: string) => {
      const response = await fetch(`${base}/api/jobs/${job.id}/result?${query}`, { headers: { cookie: session.header } })
      return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) }
    }
    const derived = countDerivedWrites()
    try {
      // Thumbnails first: freed memory stays in the allocator, so the first phase sees the cleanest baseline.
      const thumbs = await peakRssGrowth(async () => {
        const started = performance.now()
        const answers = await Promise.all(Array.from({ length: 20 }, () => get('thumb')))
        return { answers, ms: performance.now() - started }
      })
      console.log(`20 concurrent ?thumb of 4000x4000: ${thumbs.value.ms.toFixed(0)} ms, RSS peak growth ${thumbs.growthMiB.toFixed(0)} MiB`)

      const webp = await peakRssGrowth(async () => {
        const started = performance.now()
        const answers = await Promise.all(Array.from({ length: 20 }, () => get('format=webp')))
        return { answers, ms: performance.now() - started }
      })
      console.log(`20 concurrent ?format=webp of 4000x4000: ${webp.value.ms.toFixed(0)} ms, RSS peak growth ${webp.growthMiB.toFixed(0)} MiB`)
      for (const answer of webp.value.answers) {
        expect([answer.status, answer.type]).toEqual([200, 'image/webp'])
        expect(answer.bytes.equals(webp.value.answers[0]!.bytes)).toBe(true)
      }
      expect((await sharp(webp.value.answers[0]!.bytes).metadata()).width).toBe(4000)
      for (const answer of thumbs.value.answers) expect([answer.status, answer.type]).toEqual([200, 'image/webp'])
      expect((await sharp(thumbs.value.answers[0]!.bytes).metadata()).width).toBe(320)
      // One conversion each, stored beside the result...
      expect(derived.writes.filter((k) => /webp/.test(k) && !/thumb/.test(k))).toHaveLength(1)
      expect(derived.writes.filter((k) => /thumb/.test(k))).toHaveLength(1)
      // ...and served from there next time: no new write, the same bytes, quickly.
      const started = performance.now()
      const again = await get('format=webp')
      expect(performance.now() - started).toBeLessThan(1_000)
      expect(again.bytes.equals(webp.value.answers[0]!.bytes)).toBe(true)
      expect(derived.writes).toHaveLength(2)
      // Peak growth: unbounded, one conversion per request, these probes took 610 MiB (thumbnails) and 320-760 MiB (WebP).
      expect(thumbs.growthMiB).toBeLessThan(200)
      expect(webp.growthMiB).toBeLessThan(200)
    } finally {
      derived.restore()
    }
  })

  it('queues distinct conversions a few at a time and answers 503 with Retry-After past the queue; deleting the job deletes them', {
    timeout: 120_000,
  }, async () => {
    const session = await signIn()
    const job = await jobWithResult(session.sub, 256)
    const { resultKey } = await import('../../server/jobs/repository')
    const { MAX_WAITING_CONVERSIONS } = await import('../../server/images/conversions')
    const slots = app.useApp().config.maxConcurrentConversions
    // The conversions holding the slots wait for their source until the gate opens, so the queue fills.
    const store = app.useApp().store
    const get = store.get.bind(store)
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    store.get = async (key) => {
      if (key === resultKey(job)) await gate
      return get(key)
    }
    try {
      const queries = [
        ...Array.from({ length: 100 }, (_, i) => `format=jpeg&quality=${i + 1}`),
        ...Array.from({ length: 10 }, (_, i) => `format=webp&quality=${i + 1}`),
      ]
      const refused: { status: number; retryAfter: string | null }[] = []
      const answers = queries.map(async (query) => {
        const response = await fetch(`${base}/api/jobs/${job.id}/result?${query}`, { headers: { cookie: session.header } })
        await response.arrayBuffer()
        const answer = { status: response.status, retryAfter: response.headers.get('retry-after') }
        if (answer.status === 503) refused.push(answer)
        return answer
      })
      const beyond = queries.length - slots - MAX_WAITING_CONVERSIONS
      for (let i = 0; i < 600 && refused.length < beyond; i++) await new Promise((r) => setTimeout(r, 50))
      expect(refused).toHaveLength(beyond)
      expect(refused.every((a) => Number(a.retryAfter) > 0)).toBe(true)
      open()
      const all = await Promise.all(answers)
      expect(all.filter((a) => a.status === 200)).toHaveLength(slots + MAX_WAITING_CONVERSIONS)
      expect(all.filter((a) => a.status === 503)).toHaveLength(beyond)
    } finally {
      open()
      store.get = get
    }

    const { jobKeys } = await import('../../server/jobs/repository')
    const stored = await app.useApp().store.list(jobKeys(job).base)
    expect(stored.filter((k) => k.includes('/derived/')).length).toBeGreaterThan(0)
    const deleted = await fetch(`${base}/api/trpc/jobs.delete`, {
      method: 'POST',
      headers: { cookie: session.header, 'content-type': 'application/json' },
      body: JSON.stringify({ id: job.id }),
    })
    expect(deleted.status).toBe(200)
    expect(await app.useApp().store.list(jobKeys(job).base)).toEqual([])
  })
})

describe("the studio's batch split", () => {
  it('packs a batch, in order, into createBatch requests that fit the request limit', async () => {
    const { splitBatch } = await import('../../composables/batchParts')
    const photo = (name: string, mb: number) => new File([new Uint8Array(mb * MiB)], name)
    const files = [photo('a', 20), photo('b', 20), photo('c', 20), photo('d', 5), photo('e', 25), photo('f', 1)]
    const parts = splitBatch(files, 50 * MiB)
    expect(parts.map((p) => p.map((f) => f.name).join(''))).toEqual(['ab', 'cde', 'f'])
    // 2 x 25 MB of photos plus their multipart headers stay within the server's default 51 MiB.
    for (const part of parts) expect(part.reduce((sum, f) => sum + f.size, 0)).toBeLessThanOrEqual(50 * MiB)
    expect(splitBatch([], 50 * MiB)).toEqual([])
  })
})
