import { describe, expect, it } from 'vitest'
import { InferenceError } from '../../inference/runtime/errors'
import { planAxis, runTiled, type TileModel } from '../../inference/runtime/tiling'
import { loadRgb, psnr } from '../helpers/images'

describe('planAxis', () => {
  it('covers every pixel exactly once with cores, with same-size windows inside the image', () => {
    for (const [length, core, margin] of [
      [451, 128, 16],
      [300, 128, 16],
      [100, 128, 16],
      [148, 128, 16],
      [161, 128, 16],
      [257, 64, 8],
      [1, 128, 16],
    ] as const) {
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
      // No window is computed twice.
      expect(new Set(spans.map((s) => s.windowStart)).size).toBe(spans.length)
    }
    expect(planAxis(148, 128, 16)).toEqual([{ coreStart: 0, coreEnd: 148, windowStart: 0, windowEnd: 148 }])
    expect(planAxis(161, 128, 16)).toHaveLength(2)
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
        // 7 x 5: the last core of a row shares its window with the one before (448..451 with 384..448).
        expect(total).toBe(planAxis(451, 64, 8).length * planAxis(300, 64, 8).length)
        expect(total).toBe(35)
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
})
