import { describe, expect, it } from 'vitest'
import { InferenceError } from '../../inference/runtime/errors'
import { planAxis, runTiled, type TileModel } from '../../inference/runtime/tiling'
import { loadRgb, psnr } from '../helpers/images'
import { ensureConverted } from '../../inference/convert/catalogue'
import { esrganMedium } from '../../inference/models/esrgan'
import { loadSession, runImageSession } from '../../inference/runtime/sessions'

describe('planAxis', () => {
  it('covers every pixel exactly once with cores, with same-size windows inside the image', () => {
    for (const [length, core, margin] of [[451, 128, 16], [300, 128, 16], [100, 128, 16], [257, 64, 8], [1, 128, 16]] as const) {
      const spans = planAxis(length, core, margin)
      const covered = new Uint8Array(length)
      for (const s of spans) {
        for (let i = s.coreStart; i < s.coreEnd; i++) covered[i]!++
        expect(s.windowStart).toBeGreaterThanOrEqual(0)
        expect(s.windowEnd).toBeLessThanOrEqual(length)
        expect(s.windowStart).toBeLessThanOrEqual(s.coreStart)
        expect(s.windowEnd).toBeGreaterThanOrEqual(s.coreEnd)
        expect(s.windowEnd - s.windowStart).toBe(Math.min(length, core + 2 * margin))
      }
      expect([...covered].every((c) => c === 1)).toBe(true)
    }
  })
})

describe('runTiled', () => {
  it('reports progress per tile and stops when cancelled', async () => {
    const image = await loadRgb('chelsea.png')
    const identity: TileModel = { scale: 1, valueRange: 255, run: async (input) => input }
    const controller = new AbortController()
    const seen: number[] = []
    const run = runTiled(image, identity, {
      tileSize: 64,
      margin: 8,
      signal: controller.signal,
      onProgress: (done, total) => {
        seen.push(done)
        if (done === 3) controller.abort()
        expect(total).toBe(Math.ceil(451 / 64) * Math.ceil(300 / 64))
      },
    })
    await expect(run).rejects.toBeInstanceOf(InferenceError)
    expect(seen).toEqual([0, 1, 2, 3])
  })

  it('reproduces the image exactly through an identity model', async () => {
    const image = await loadRgb('chelsea.png')
    const out = await runTiled(image, { scale: 1, valueRange: 1, run: async (input) => input }, { tileSize: 100, margin: 10 })
    expect(psnr(out, image)).toBe(Infinity)
  })

  it('tiled ESRGAN x2 matches an untiled run on a 512x512 photo (PSNR >= 45 dB)', { timeout: 180_000 }, async () => {
    const image = await loadRgb('astronaut.png')
    const weights = esrganMedium.weights.find((w) => w.onnxFile.endsWith('x2.onnx'))!
    const session = await loadSession((await ensureConverted(weights)).path)
    const model: TileModel = { scale: 2, valueRange: 255, run: (input, h, w) => runImageSession(session, input, h, w) }
    const whole = await runTiled(image, model, { tileSize: 512, margin: 0 })
    const tiled = await runTiled(image, model, { tileSize: 128, margin: 16 })
    const value = psnr(tiled, whole)
    console.log(`tiled vs untiled x2 on astronaut 512x512: ${value.toFixed(2)} dB`)
    expect(value).toBeGreaterThanOrEqual(45)
  })
})
