import { describe, expect, it } from 'vitest'
import { loadSession, runImageSession } from '../../inference/runtime/sessions'
import { runTiled, type TileModel } from '../../inference/runtime/tiling'
import { loadRgb, psnr } from '../helpers/images'
import { writeUpscaleStandIns } from '../helpers/stand-in-models'

// Sessions and tiling on a generated x2 model (tests/helpers/stand-in-models.ts), no weights; the real ESRGAN: tests/quality/tiling-quality.test.ts.
describe('sessions and tiling with a generated x2 model', () => {
  it('loads one session per file, runs a CHW tile and gives each pixel back as a 2x2 block', async () => {
    const paths = await writeUpscaleStandIns({ 'x2.onnx': 2 })
    const session = await loadSession(paths.get('x2.onnx')!)
    expect(await loadSession(paths.get('x2.onnx')!)).toBe(session)
    const input = Float32Array.from({ length: 3 * 2 * 3 }, (_, i) => i)
    const output = await runImageSession(session, input, 2, 3)
    expect(output).toHaveLength(3 * 4 * 6)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) expect(output[c * 24 + y * 6 + x]).toBe(input[c * 6 + Math.floor(y / 2) * 3 + Math.floor(x / 2)])
  })

  it('does not keep a session that failed to load: the next load tries again', async () => {
    await expect(loadSession('/nonexistent/model.onnx')).rejects.toThrow()
    await expect(loadSession('/nonexistent/model.onnx')).rejects.toThrow()
  })

  it('tiled x2 with margins is the same image as one untiled run on a 512x512 photo', async () => {
    const paths = await writeUpscaleStandIns({ 'x2.onnx': 2 })
    const session = await loadSession(paths.get('x2.onnx')!)
    const image = await loadRgb('astronaut.png')
    const model: TileModel = { scale: 2, valueRange: 255, run: (input, h, w) => runImageSession(session, input, h, w) }
    const whole = await runTiled(image, model, { tileSize: 512, margin: 0 })
    const tiled = await runTiled(image, model, { tileSize: 128, margin: 16 })
    expect([tiled.width, tiled.height]).toEqual([1024, 1024])
    expect(psnr(tiled, whole)).toBe(Infinity)
  })
})
