import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import type { Pixels } from '../../inference/runtime/image'
import { previewMaker } from '../../inference/runtime/preview'
import { type PartialOutput, runTiled } from '../../inference/runtime/tiling'
import { loadRgb } from '../helpers/images'

const flat = (width: number, height: number, value: number): Pixels => ({ width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(value) })
/** The preview decoded, and the grey level at (x, y). */
async function decoded(jpeg: Buffer) {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true })
  return { info, at: (x: number, y: number) => data[(y * info.width + x) * info.channels]! }
}

describe('live previews of a tiled run', () => {
  it('show the written part of the output over the input: the finished rows whole, the band up to its columns', async () => {
    // Input black 100x100; output (x2) white where written: rows below 100 and, in the band to 150, columns below 80.
    const output = flat(200, 200, 0)
    for (let y = 0; y < 150; y++) for (let x = 0; x < (y < 100 ? 200 : 80); x++) output.data.fill(255, (y * 200 + x) * 3, (y * 200 + x) * 3 + 3)
    const partial: PartialOutput = { image: output, rows: 100, bandEnd: 150, bandColumns: 80, done: 3, total: 8 }
    const { info, at } = await decoded(await previewMaker(flat(100, 100, 0))(partial))
    expect([info.width, info.height]).toEqual([200, 200]) // under 384 px: the output's own size
    expect(at(150, 50)).toBeGreaterThan(230) // finished rows
    expect(at(40, 125)).toBeGreaterThan(230) // the band, left of its columns
    expect(at(150, 125)).toBeLessThan(25) // the band, right of them: the input
    expect(at(100, 180)).toBeLessThan(25) // below the band: the input
  })

  it('are at most 384 px on the long side', async () => {
    const partial: PartialOutput = { image: flat(1600, 800, 128), rows: 800, bandEnd: 800, bandColumns: 0, done: 1, total: 2 }
    const { info } = await decoded(await previewMaker(flat(400, 200, 0))(partial))
    expect([info.width, info.height]).toEqual([384, 192])
  })

  it('come from runTiled after each tile but the last, cores and bands in order, with and without the cross-fade', async () => {
    const image = await loadRgb('chelsea.png') // 451x300
    const identity = { scale: 2, valueRange: 255, run: async (input: Float32Array, h: number, w: number) => upscale2(input, h, w) }
    for (const feather of [0, 16]) {
      const seen: Omit<PartialOutput, 'image'>[] = []
      await runTiled(image, identity, { tileSize: 128, margin: 16, feather, onPartial: ({ image: _, ...rest }) => seen.push(rest) })
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.every((p) => p.done < p.total)).toBe(true)
      for (const [i, p] of seen.entries()) {
        expect(p.rows).toBeLessThanOrEqual(p.bandEnd)
        if (i) expect(p.rows + p.bandColumns / 1e6).toBeGreaterThanOrEqual(seen[i - 1]!.rows + seen[i - 1]!.bandColumns / 1e6)
      }
      // Without the fade every tile but the last reports (4 x 3 tiles); with it, each band of rows but the last (3 rows).
      expect(seen).toHaveLength(feather ? 2 : 11)
    }
  })
})

/** Nearest-neighbour x2 of a CHW tile: a stand-in model with a scale. */
function upscale2(input: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(input.length * 4)
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 2 * h; y++) for (let x = 0; x < 2 * w; x++) out[c * 4 * h * w + y * 2 * w + x] = input[c * h * w + (y >> 1) * w + (x >> 1)]!
  return out
}
