import { readFile } from 'node:fs/promises'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { readRunStream, RunStreamError } from '../../contracts/run-stream'
import { RUN_STREAM_TYPE, ServiceInfo, type RunEvent } from '../../contracts/service'
import { forgedAccessToken, signInDirect, stackEnv } from '../helpers/auth'
import { pngHeaderOnly } from '../helpers/png'
import { fixture, pngSize } from '../helpers/images'

const SERVICE = stackEnv().UPSCALE_SERVICE_URLS!

function run(body: Uint8Array, token: string | null, query = 'model=esrgan-medium&options=%7B%22scale%22%3A4%7D', signal?: AbortSignal) {
  return fetch(`${SERVICE}/v1/run?${query}`, {
    method: 'POST',
    body: body as Uint8Array<ArrayBuffer>,
    signal,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
}

describe('upscale service over HTTP', () => {
  it('answers health, readiness and info', async () => {
    expect((await fetch(`${SERVICE}/healthz`)).status).toBe(200)
    expect((await fetch(`${SERVICE}/readyz`)).status).toBe(200)
    const info = ServiceInfo.parse(await (await fetch(`${SERVICE}/v1/info`)).json())
    expect(info.models.map((m) => m.id)).toEqual(['realesrgan-general-x4', 'realesrgan-x4plus', 'esrgan-slim', 'esrgan-medium', 'esrgan-thick'])
    const medium = info.models.find((m) => m.id === 'esrgan-medium')!
    expect(medium.capabilities.scales).toEqual([2, 3, 4, 8])
    // Its measured cost per input megapixel at each scale (bench/model-cost.ts), the studio's typical times.
    expect(Object.keys(medium.msPerMegapixel ?? {})).toEqual(['2', '3', '4', '8'])
    expect(medium.msPerMegapixel!['8']!).toBeGreaterThan(medium.msPerMegapixel!['2']!)
    expect(medium.options).toMatchObject({
      type: 'object',
      properties: { scale: { enum: [2, 3, 4, 8], default: 2 }, width: { type: 'integer' }, height: { type: 'integer' } },
      additionalProperties: false,
    })
    expect(info.models.filter((m) => m.madeFor === 'photo').map((m) => [m.id, m.quality, m.capabilities.scales])).toEqual([
      ['realesrgan-general-x4', 'balanced', [2, 3, 4]],
      ['realesrgan-x4plus', 'best', [2, 3, 4]],
    ])
  })

  it('reaches any size from the x4 network: x3, and an exact width with the aspect ratio kept', async () => {
    const { accessToken } = await signInDirect()
    // A 150x100 crop of chelsea.png: the sizes are the check, and x4 of the whole photo twice took 32 s of a loaded run.
    const photo = new Uint8Array(await sharp(fixture('chelsea.png')).extract({ left: 150, top: 100, width: 150, height: 100 }).png().toBuffer())
    for (const [options, size] of [
      [{ scale: 3 }, { width: 450, height: 300 }],
      [{ width: 500 }, { width: 500, height: 333 }],
    ] as const) {
      const response = await run(photo, accessToken, `model=realesrgan-general-x4&options=${encodeURIComponent(JSON.stringify(options))}`)
      expect(response.status).toBe(200)
      const result = await readRunStream(response.body!, () => {})
      expect(await pngSize(result.bytes)).toEqual({ format: 'png', ...size })
    }
  })

  it('refuses, before any work, a target width beyond what the model reaches', async () => {
    const { accessToken } = await signInDirect()
    const response = await run(
      await readFile(fixture('chelsea.png')),
      accessToken,
      `model=realesrgan-general-x4&options=${encodeURIComponent('{"width":2000}')}`,
    )
    expect(response.status).toBe(413)
    expect((await response.json()).message).toMatch(/reaches x4: 2000x1330 is x4\.43/)
  })

  it('upscales chelsea.png x4 with progress events and returns a PNG of 4x the size', async () => {
    const { accessToken } = await signInDirect()
    const response = await run(await readFile(fixture('chelsea.png')), accessToken)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe(RUN_STREAM_TYPE)
    const events: RunEvent[] = []
    const result = await readRunStream(response.body!, (e) => events.push(e))
    expect(events[0]).toEqual({ type: 'accepted', width: 451, height: 300 })
    const progress = events.filter((e) => e.type === 'progress')
    expect(progress.at(-1)).toMatchObject({ done: progress.at(-1)!.total })
    expect(progress.length).toBeGreaterThan(2)
    expect(await pngSize(result.bytes)).toEqual({ format: 'png', width: 1804, height: 1200 })
  })

  describe('rejects requests without a valid access token', () => {
    it.each([
      ['no token', async () => null],
      ['a forged signature', async () => forgedAccessToken()],
      ['an ID token instead of an access token', async () => (await signInDirect()).idToken],
      ['a malformed token', async () => 'not.a.jwt'],
    ])('%s -> 401', async (_name, token) => {
      const response = await run(await readFile(fixture('chelsea.png')), await token())
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ code: 'unauthorized' })
    })
  })

  it('gives a clear 422 for a truncated JPEG and keeps serving', async () => {
    const { accessToken } = await signInDirect()
    const response = await run(await readFile(fixture('truncated.jpg')), accessToken)
    expect(response.status).toBe(422)
    const body = await response.json()
    expect(body.code).toBe('bad_image')
    expect(body.message).toMatch(/damaged|not an image/i)
    expect((await fetch(`${SERVICE}/healthz`)).status).toBe(200)
  })

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const { accessToken } = await signInDirect()
    // A real 50000x50000 PNG header with a tiny body: decoding it would need 7.5 GB.
    const bomb = pngHeaderOnly(50_000, 50_000)
    const response = await run(bomb, accessToken)
    expect(response.status).toBe(413)
    expect((await response.json()).message).toMatch(/50000x50000/)
  })

  it('rejects an unknown model and an unsupported scale', async () => {
    const { accessToken } = await signInDirect()
    const image = await readFile(fixture('chelsea.png'))
    expect((await run(image, accessToken, 'model=nope&options=%7B%22scale%22%3A4%7D')).status).toBe(404)
    const wrongScale = await run(image, accessToken, 'model=esrgan-thick&options=%7B%22scale%22%3A8%7D')
    expect(wrongScale.status).toBe(400)
    expect((await wrongScale.json()).message).toMatch(/x2, x3, x4/)
  })

  it('stops work when the client disconnects, then serves the next request', async () => {
    const { accessToken } = await signInDirect()
    const image = await readFile(fixture('astronaut.png'))
    const controller = new AbortController()
    const response = await run(image, accessToken, 'model=esrgan-medium&options=%7B%22scale%22%3A4%7D', controller.signal)
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    const next = await run(await readFile(fixture('chelsea.png')), accessToken, 'model=esrgan-medium&options=%7B%22scale%22%3A2%7D')
    const result = await readRunStream(next.body!, () => {})
    expect(await pngSize(result.bytes)).toMatchObject({ width: 902, height: 600 })
  })

  it('reports a model error as an error event, not a broken stream', async () => {
    await expect(readRunStream(new Response('{"type":"error","code":"internal","message":"boom"}\n').body!, () => {})).rejects.toBeInstanceOf(RunStreamError)
    await expect(readRunStream(new Response('{"type":"progress","done":1,"total":2}\n').body!, () => {})).rejects.toThrow(/closed the stream early/)
  })
})
