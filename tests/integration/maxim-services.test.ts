import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { readRunStream } from '../../contracts/run-stream'
import { ServiceInfo, type RunEvent } from '../../contracts/service'
import { signInDirect, stackEnv } from '../helpers/auth'
import { fixture } from '../helpers/images'

const SERVICE = stackEnv().DENOISE_SERVICE_URLS!

function run(body: Uint8Array, token: string, query = 'model=maxim-denoising') {
  return fetch(`${SERVICE}/v1/run?${query}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { authorization: `Bearer ${token}` } })
}

describe('denoise service over HTTP', () => {
  it('answers readiness and lists MAXIM denoising as a denoise model at x1', async () => {
    expect((await fetch(`${SERVICE}/readyz`)).status).toBe(200)
    const info = ServiceInfo.parse(await (await fetch(`${SERVICE}/v1/info`)).json())
    expect(info.service).toBe('denoise')
    expect(info.models).toEqual([expect.objectContaining({ id: 'maxim-denoising', task: 'denoise', scales: [1] })])
  })

  it('denoises a small RGBA photo (smaller than one tile) to a PNG of the same size, keeping its alpha', { timeout: 600_000 }, async () => {
    const { accessToken } = await signInDirect()
    // 160x120 is below the 256 px tile: the service pads it out and crops the result back.
    const input = await sharp(fixture('chelsea.png')).extract({ left: 150, top: 40, width: 160, height: 120 }).ensureAlpha(0.5).png().toBuffer()
    const response = await run(input, accessToken)
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

  it('refuses a scale other than x1', async () => {
    const { accessToken } = await signInDirect()
    const response = await run(await sharp(fixture('chelsea.png')).png().toBuffer(), accessToken, 'model=maxim-denoising&scale=2')
    expect(response.status).toBe(400)
    expect((await response.json()).code).toBe('bad_request')
  })
})
