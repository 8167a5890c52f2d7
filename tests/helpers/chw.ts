/** A CHW float tensor and seeded random numbers, for tests that check converted graphs against plain JavaScript. */
export interface Chw {
  c: number
  h: number
  w: number
  data: Float32Array
}

export const chw = (c: number, h: number, w: number, f: (c: number, y: number, x: number) => number): Chw => {
  const data = new Float32Array(c * h * w)
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(k * h + y) * w + x] = f(k, y, x)
  return { c, h, w, data }
}
export const at = (t: Chw, c: number, y: number, x: number) => t.data[(c * t.h + y) * t.w + x]!

export function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
