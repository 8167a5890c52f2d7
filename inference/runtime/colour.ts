import type { Pixels } from './image'

// sRGB byte -> linear light, once.
export const LINEAR = Float32Array.from({ length: 256 }, (_, v) => {
  const c = v / 255
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
})

const labF = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116)

/** CIE Lab (D65) of a colour in linear light, written into `out` at `at` (L, a, b). */
export function linearToLab(r: number, g: number, b: number, out: Float32Array | Float64Array, at = 0): void {
  const fx = labF((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047)
  const fy = labF(0.2126729 * r + 0.7151522 * g + 0.072175 * b)
  const fz = labF((0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883)
  out[at] = 116 * fy - 16
  out[at + 1] = 500 * (fx - fy)
  out[at + 2] = 200 * (fy - fz)
}

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
      linearToLab(LINEAR[image.data[i]!]!, LINEAR[image.data[i + 1]!]!, LINEAR[image.data[i + 2]!]!, out, ((y - y0) * w + x - x0) * 3)
    }
  return out
}
