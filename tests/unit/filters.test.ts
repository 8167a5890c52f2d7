import { describe, expect, it } from 'vitest'
import { extremeFilter, withoutThinStrokes } from '../../inference/runtime/filters'

/** The plain definition, for comparison: the extreme over the clamped (2r+1)^2 square of each pixel. */
function naive(data: Uint8Array, w: number, h: number, ch: number, r: number, max: boolean) {
  const out = new Uint8Array(data.length)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < ch; c++) {
        let v = max ? 0 : 255
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const s = data[(Math.min(h - 1, Math.max(0, y + dy)) * w + Math.min(w - 1, Math.max(0, x + dx))) * ch + c]!
            v = max ? Math.max(v, s) : Math.min(v, s)
          }
        out[(y * w + x) * ch + c] = v
      }
  return out
}

describe('extremeFilter', () => {
  it('equals the square minimum and maximum of its definition, at every radius and odd size', () => {
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255
    for (const [w, h, ch] of [
      [17, 9, 3],
      [5, 23, 1],
      [1, 1, 3],
    ] as const) {
      const data = Uint8Array.from({ length: w * h * ch }, random)
      for (const r of [1, 2, 3, 6]) for (const max of [false, true]) expect(extremeFilter(data, w, h, ch, r, max)).toEqual(naive(data, w, h, ch, r, max))
    }
  })

  it('removes light strokes narrower than 2r + 1 and keeps wider areas (an opening)', () => {
    const w = 30
    const h = 10
    const data = new Uint8Array(w * h).fill(50)
    for (let y = 0; y < h; y++) {
      for (let x = 5; x < 8; x++) data[y * w + x] = 250 // 3 px stroke
      for (let x = 15; x < 25; x++) data[y * w + x] = 200 // 10 px block
    }
    const opened = withoutThinStrokes(data, w, h, 1, 2, true)
    expect(opened[5 * w + 6]).toBe(50)
    expect(opened[5 * w + 20]).toBe(200)
  })
})
