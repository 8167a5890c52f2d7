import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { readRunStream } from '../../contracts/run-stream'
import { ServiceInfo, type RunEvent } from '../../contracts/service'
import { signInDirect, stackEnv } from '../helpers/auth'
import { fixture } from '../helpers/images'

/** The two services that run MAXIM graph models: denoise, and enhance (deblur, dehaze, low light, retouch). */
const SERVICES = [
  { name: 'denoise', url: () => stackEnv().DENOISE_SERVICE_URLS!, models: ['maxim-denoising'], runs: 'maxim-denoising' },
  {
    name: 'enhance',
    url: () => stackEnv().ENHANCE_SERVICE_URLS!,
    models: ['maxim-deblurring', 'maxim-dehazing-outdoor', 'maxim-dehazing-indoor', 'maxim-enhancement', 'maxim-retouching'],
    runs: 'maxim-dehazing-outdoor',
  },
]

function run(service: string, body: Uint8Array, token: string, query: string) {
  return fetch(`${service}/v1/run?${query}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { authorization: `Bearer ${token}` } })
}

describe.each(SERVICES)('$name service over HTTP', ({ name, url, models, runs }) => {
  it(`answers readiness and lists its MAXIM models as ${name} models at x1`, async () => {
    expect((await fetch(`${url()}/readyz`)).status).toBe(200)
    const info = ServiceInfo.parse(await (await fetch(`${url()}/v1/info`)).json())
    expect(info.service).toBe(name)
    expect(info.models.map((m) => m.id)).toEqual(models)
    for (const model of info.models)
      expect(model).toMatchObject({ task: name, capabilities: { scales: [1], mask: false, detect: false }, maxInputPixels: 4_000_000 })
  })

  it(`runs ${runs} on a small RGBA photo (smaller than one tile) to a PNG of the same size, keeping its alpha`, { timeout: 600_000 }, async () => {
    const { accessToken } = await signInDirect()
    // 160x120 is below the 256 px tile: the service pads it out and crops the result back.
    const input = await sharp(fixture('chelsea.png')).extract({ left: 150, top: 40, width: 160, height: 120 }).ensureAlpha(0.5).png().toBuffer()
    const response = await run(url(), input, accessToken, `model=${runs}`)
    expect(response.status).toBe(200)
    const events: RunEvent[] = []
    const result = await readRunStream(response.body!, (e) => events.push(e))
    expect(events[0]).toEqual({ type: 'accepted', width: 160, height: 120 })
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ done: 1, total: 1 })
    const meta = await sharp(result.bytes).metadata()
    expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual(['png', 160, 120, true])
    const alpha = await sharp(result.bytes).extractChannel(3).raw().toBuffer()
    expect(Math.abs(alpha[0]! - 128)).toBeLessThanOrEqual(1)
  })

  it("refuses a photo above its models' 4 MP limit with a clear reason, before decoding it", async () => {
    const { accessToken } = await signInDirect()
    const big = await sharp({ create: { width: 2100, height: 2000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer()
    const response = await run(url(), big, accessToken, `model=${runs}`)
    expect(response.status).toBe(413)
    expect(await response.json()).toMatchObject({ code: 'too_large', message: expect.stringMatching(/up to 4\.0 MP.*2100x2000/) })
  })

  it('refuses a scale other than x1, and a model of another service', async () => {
    const { accessToken } = await signInDirect()
    const photo = await sharp(fixture('chelsea.png')).png().toBuffer()
    const scaled = await run(url(), photo, accessToken, `model=${runs}&options=%7B%22scale%22%3A2%7D`)
    expect(scaled.status).toBe(400)
    expect((await scaled.json()).code).toBe('bad_request')
    const foreign = await run(url(), photo, accessToken, 'model=esrgan-medium')
    expect(foreign.status).toBe(404)
    expect((await foreign.json()).code).toBe('unsupported_model')
  })
})
