import { describe, expect, it } from 'vitest'
import { ensureConverted } from '../../inference/convert/cache'
import type { ConvertSource } from '../../inference/models/adapter'
import { esrganMedium } from '../../inference/models/esrgan'
import { loadSession, runImageSession } from '../../inference/runtime/sessions'
import { runTiled, type TileModel } from '../../inference/runtime/tiling'
import { loadRgb, psnr } from '../helpers/images'

// The real ESRGAN through the tiler; the tiler's plumbing on generated models: tests/unit/tiling.test.ts.
describe('runTiled with a real model', () => {
  it('tiled ESRGAN x2 matches an untiled run on a 512x512 photo (PSNR >= 45 dB)', { timeout: 180_000 }, async () => {
    const image = await loadRgb('astronaut.png')
    const weights = esrganMedium.sources.find((s) => s.kind === 'convert' && s.file.endsWith('x2.onnx')) as ConvertSource
    const session = await loadSession((await ensureConverted(weights)).path)
    const model: TileModel = { scale: 2, valueRange: 255, run: (input, h, w) => runImageSession(session, input, h, w) }
    const whole = await runTiled(image, model, { tileSize: 512, margin: 0 })
    const tiled = await runTiled(image, model, { tileSize: 128, margin: 16 })
    const value = psnr(tiled, whole)
    console.log(`tiled vs untiled x2 on astronaut 512x512: ${value.toFixed(2)} dB`)
    expect(value).toBeGreaterThanOrEqual(45)
  })
})
