import type { TRPCError } from '@trpc/server'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { createJobFormData } from '../../contracts/api'
import { Detection } from '../../contracts/service'
import { findText, loadOcr, type OcrModels } from '../../inference/models/text-removal'
import type { Pixels } from '../../inference/runtime/image'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import type { InProcessQueue } from '../../server/jobs/queue'
import { resultKey } from '../../server/jobs/repository'
import { signInDirect, stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'
import { buildOverlaySet, type OverlaySample } from '../helpers/text-overlays'

const app = createTestApp()
let sample: OverlaySample
let png: Uint8Array<ArrayBuffer>
let ocr: OcrModels

const toPng = async (p: Pixels) =>
  new Uint8Array(
    await sharp(p.data, { raw: { width: p.width, height: p.height, channels: p.channels as 1 | 3 } })
      .png()
      .toBuffer(),
  )
const decode = async (bytes: Uint8Array) => {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) } satisfies Pixels
}

beforeAll(async () => {
  sample = (await buildOverlaySet(['chelsea.png']))[1]! // "SAMPLE" watermark + "© photo studio"
  png = await toPng(sample.overlaid)
  ocr = await loadOcr()
}, 120_000)

async function signedIn() {
  const user = callerFor(app)
  await user.caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
  return user
}

describe('remove text through the API and the service', () => {
  it('text.detect shows what would be removed: boxes, the words, and the mask', async () => {
    const { caller } = await signedIn()
    const form = new FormData()
    form.set('image', new File([png], 'watermarked.png'))
    const found = await caller.text.detect(form)
    expect(found).toMatchObject({ width: 451, height: 300 })
    expect(found.boxes.map((b) => b.text)).toEqual(expect.arrayContaining(['SAMPLE', expect.stringMatching(/photo studio$/)]))
    const mask = await sharp(Buffer.from(found.mask.split(',')[1]!, 'base64')).metadata()
    expect([mask.width, mask.height]).toEqual([451, 300])
  })

  it('a remove-text job leaves no readable text and keeps the size', { timeout: 120_000 }, async () => {
    const { caller } = await signedIn()
    const job = await caller.jobs.create(
      createJobFormData({ image: new File([png], 'watermarked.png'), steps: [{ task: 'remove-text', model: 'text-removal', scale: 1 }] }),
    )
    await (app.queue as InProcessQueue).idle()
    const done = await caller.jobs.get({ id: job.id })
    expect(done).toMatchObject({ status: 'succeeded', output: { width: 451, height: 300 } })
    const me = await caller.auth.me()
    const result = await decode((await app.store.get(resultKey({ ...done, ownerSub: me.sub })))!.data)
    expect(await findText(ocr, result)).toEqual([])
  })

  it('a user mask alone changes only the painted area; added to the detection it removes both', { timeout: 120_000 }, async () => {
    const { caller } = await signedIn()
    const { width, height } = sample.overlaid
    const painted: Pixels = { width, height, channels: 1, data: new Uint8Array(width * height) }
    for (let y = 240; y < 280; y++) painted.data.fill(255, y * width + 300, y * width + 380)
    const maskFile = new File([await toPng(painted)], 'mask.png', { type: 'image/png' })
    const me = await caller.auth.me()
    const results: Record<string, Pixels> = {}
    for (const maskMode of ['user', 'both'] as const) {
      const job = await caller.jobs.create(
        createJobFormData({ image: new File([png], 'w.png'), steps: [{ task: 'remove-text', model: 'text-removal', scale: 1 }], mask: maskFile, maskMode }),
      )
      expect(job.userMask).toBe(true)
      await (app.queue as InProcessQueue).idle()
      const done = await caller.jobs.get({ id: job.id })
      expect(done.status).toBe('succeeded')
      results[maskMode] = await decode((await app.store.get(resultKey({ ...done, ownerSub: me.sub })))!.data)
    }
    let changedOutside = 0
    let changedInside = 0
    for (let p = 0; p < painted.data.length; p++) {
      const changed = results.user!.data[p * 3] !== sample.overlaid.data[p * 3]
      if (painted.data[p]) changedInside += changed ? 1 : 0
      else changedOutside += changed ? 1 : 0
    }
    expect(changedOutside).toBe(0)
    expect(changedInside).toBeGreaterThan(0)
    expect((await findText(ocr, results.user!)).map((b) => b.text)).toEqual(expect.arrayContaining(['SAMPLE', expect.stringMatching(/photo studio$/)]))
    expect(await findText(ocr, results.both!)).toEqual([])
  })

  it('a mask without a remove-text step is refused', async () => {
    const { caller } = await signedIn()
    const form = createJobFormData({
      image: new File([png], 'w.png'),
      steps: [{ task: 'upscale', model: 'esrgan-medium', scale: 2 }],
      mask: new File([png], 'm.png'),
    })
    const error = await caller.jobs.create(form).catch((e: TRPCError) => e)
    expect((error as TRPCError).code).toBe('BAD_REQUEST')
  })

  it('runs a pipeline: remove text, then upscale x2', { timeout: 120_000 }, async () => {
    const { caller } = await signedIn()
    const job = await caller.jobs.create(
      createJobFormData({
        image: new File([png], 'w.png'),
        steps: [
          { task: 'remove-text', model: 'text-removal', scale: 1 },
          { task: 'upscale', model: 'esrgan-slim', scale: 2 },
        ],
      }),
    )
    await (app.queue as InProcessQueue).idle()
    expect(await caller.jobs.get({ id: job.id })).toMatchObject({ status: 'succeeded', output: { width: 902, height: 600 } })
  })

  it('the service itself: /v1/detect needs a token and answers the shared schema', async () => {
    const url = `${stackEnv().REMOVE_TEXT_SERVICE_URLS}/v1/detect`
    expect((await fetch(url, { method: 'POST', body: png })).status).toBe(401)
    const { accessToken } = await signInDirect()
    const response = await fetch(url, { method: 'POST', body: png, headers: { authorization: `Bearer ${accessToken}` } })
    expect(response.status).toBe(200)
    expect(Detection.parse(await response.json()).boxes).toHaveLength(2)
  })
})
