import { describe, expect, it } from 'vitest'
import { ensureConverted } from '../../inference/convert/cache'
import type { ConvertSource } from '../../inference/models/adapter'
import { esrganMedium, realesrganGeneralX4, realesrganX4plus } from '../../inference/models/esrgan'
import { loadSession, runImageSession } from '../../inference/runtime/sessions'
import { runTiled, type TileModel } from '../../inference/runtime/tiling'
import { loadRgb, psnr } from '../helpers/images'

// The real ESRGAN through the tiler; the tiler's plumbing on generated models: tests/unit/tiling.test.ts.
describe('runTiled with a real model', () => {
  it('tiled ESRGAN x2 matches an untiled run on a 512x512 photo (PSNR >= 45 dB)', { timeout: 900_000 }, async () => {
    const image = await loadRgb('astronaut.png')
    const weights = esrganMedium.sources.find((s) => s.kind === 'convert' && s.file.endsWith('x2.onnx')) as ConvertSource
    const session = await loadSession((await ensureConverted(weights)).path)
    const model: TileModel = { scale: 2, valueRange: 255, run: (input, h, w) => runImageSession(session, input, h, w) }
    // The untiled run is one long session run: it must leave this thread free (sessions.ts runs ORT in a worker), or a
    // service stops answering health checks and cancels for its length. Timers keep firing: the longest gap between
    // them stays well under the run's own time (on the thread itself it was the whole run).
    let last = performance.now()
    let longestGap = 0
    const timer = setInterval(() => {
      longestGap = Math.max(longestGap, performance.now() - last)
      last = performance.now()
    }, 10)
    const started = performance.now()
    const whole = await runTiled(image, model, { tileSize: 512, margin: 0 })
    const runMs = performance.now() - started
    clearInterval(timer)
    longestGap = Math.max(longestGap, performance.now() - last)
    console.log(`one 512x512 session run: ${runMs.toFixed(0)} ms; the longest gap between 10 ms timers meanwhile: ${longestGap.toFixed(0)} ms`)
    expect(runMs).toBeGreaterThan(500)
    expect(longestGap).toBeLessThan(0.5 * runMs)
    const tiled = await runTiled(image, model, { tileSize: 128, margin: 16 })
    const value = psnr(tiled, whole)
    console.log(`tiled vs untiled x2 on astronaut 512x512: ${value.toFixed(2)} dB`)
    expect(value).toBeGreaterThanOrEqual(45)
  })

  /**
   * Real-ESRGAN's networks are deeper than the 16 px margin (x4plus: 351 convolutions), but what a
   * pixel sees that far away barely matters: cores written as they are, with no cross-fade, must
   * match one untiled run.
   */
  it.each([
    // Measured: 113.1 dB (general) and 57.2 dB (x4plus), i.e. float rounding; the tiler itself: tests/unit/tiling.test.ts.
    // x4plus runs smaller tiles (4 windows of 96 px, 2 cores per axis): at 128 px tiles it took 3+ minutes under CI's load.
    { adapter: realesrganGeneralX4, side: 256, tileSize: 128, minimum: 50 },
    { adapter: realesrganX4plus, side: 128, tileSize: 64, minimum: 45 },
  ])(
    'tiled $adapter.info.id x4 matches an untiled run on a $side px crop of astronaut.png',
    { timeout: 900_000 },
    async ({ adapter, side, tileSize, minimum }) => {
      const image = await loadRgb('astronaut.png', { left: 128, top: 64, width: side, height: side })
      const weights = adapter.sources[0] as ConvertSource
      const session = await loadSession((await ensureConverted(weights)).path)
      const model: TileModel = { scale: 4, valueRange: 1, run: (input, h, w) => runImageSession(session, input, h, w) }
      const whole = await runTiled(image, model, { tileSize: side, margin: 0 })
      const tiled = await runTiled(image, model, { tileSize, margin: 16 })
      const value = psnr(tiled, whole)
      console.log(`tiled vs untiled ${adapter.info.id} x4 on ${side}x${side}: ${value.toFixed(2)} dB`)
      expect(value).toBeGreaterThanOrEqual(minimum)
    },
  )
})
