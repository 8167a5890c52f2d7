import type { Pixels } from './image'

// sRGB byte -> linear light, once.
const LINEAR = Float32Array.from({ length: 256 }, (_, v) => {
  const c = v / 255
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
})

const labF = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116)

/**
 * CIE Lab (D65) of a rectangle [x0, y0, x1, y1) of an RGB image, as three interleaved floats per
 * pixel: distances in Lab follow how different two colours look, which RGB distances do not.
 */
export function labOf(image: Pixels, [x0, y0, x1, y1]: readonly [number, number, number, number]): Float32Array {
  const w = x1 - x0
  const out = new Float32Array(w * (y1 - y0) * 3)
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * image.width + x) * 3
      const r = LINEAR[image.data[i]!]!
      const g = LINEAR[image.data[i + 1]!]!
      const b = LINEAR[image.data[i + 2]!]!
      const fx = labF((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047)
      const fy = labF(0.2126 * r + 0.7152 * g + 0.0722 * b)
      const fz = labF((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
      const o = ((y - y0) * w + x - x0) * 3
      out[o] = 116 * fy - 16
      out[o + 1] = 500 * (fx - fy)
      out[o + 2] = 200 * (fy - fz)
    }
  return out
}
