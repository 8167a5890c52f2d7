/** Blurs each h x w plane of `planes` (CHW floats) in place with a Gaussian of `sigma` pixels; edges are clamped. */
export function gaussianBlurPlanes(planes: Float32Array, height: number, width: number, sigma: number): void {
  const radius = Math.ceil(3 * sigma)
  const kernel = Float32Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)))
  const total = kernel.reduce((a, b) => a + b, 0)
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= total
  const plane = height * width
  const line = new Float32Array(Math.max(height, width))
  for (let offset = 0; offset < planes.length; offset += plane) {
    for (let y = 0; y < height; y++) blurLine(planes, offset + y * width, 1, width, kernel, radius, line)
    for (let x = 0; x < width; x++) blurLine(planes, offset + x, width, height, kernel, radius, line)
  }
}

function blurLine(data: Float32Array, start: number, stride: number, length: number, kernel: Float32Array, radius: number, line: Float32Array) {
  for (let i = 0; i < length; i++) line[i] = data[start + i * stride]!
  for (let i = 0; i < length; i++) {
    let sum = 0
    for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * line[Math.min(length - 1, Math.max(0, i + k))]!
    data[start + i * stride] = sum
  }
}

/**
 * Puts back the low frequencies a restoration model changed: output += blur(input - output).
 * For denoising this is safe (noise is zero-mean, so the blurred input is the blurred truth) and
 * undoes the colour and tone shifts a model trained on one camera pipeline applies to others.
 */
export function restoreLowFrequencies(input: Float32Array, output: Float32Array, height: number, width: number, sigma: number): void {
  const residual = new Float32Array(input.length)
  for (let i = 0; i < residual.length; i++) residual[i] = input[i]! - output[i]!
  gaussianBlurPlanes(residual, height, width, sigma)
  for (let i = 0; i < output.length; i++) output[i]! += residual[i]!
}

/**
 * Square minimum (or maximum) of radius r over an interleaved byte image, each channel on its own,
 * separable, edges clamped. An opening (min, then max) removes bright structures thinner than
 * 2r + 1 pixels and keeps everything wider: under thin light letters, it is the photo around them.
 */
export function extremeFilter(data: Uint8Array, width: number, height: number, channels: number, r: number, max: boolean): Uint8Array {
  const pass = (src: Uint8Array, horizontal: boolean) => {
    const out = new Uint8Array(src.length)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let c = 0; c < channels; c++) {
          let v = max ? 0 : 255
          for (let d = -r; d <= r; d++) {
            const xx = horizontal ? Math.min(width - 1, Math.max(0, x + d)) : x
            const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + d))
            const s = src[(yy * width + xx) * channels + c]!
            v = max ? Math.max(s, v) : Math.min(s, v)
          }
          out[(y * width + x) * channels + c] = v
        }
    return out
  }
  return pass(pass(data, true), false)
}

/** The photo under thin light (`light`) or dark structures: an opening, or a closing, of radius r. */
export function withoutThinStrokes(data: Uint8Array, width: number, height: number, channels: number, r: number, light: boolean): Uint8Array {
  return extremeFilter(extremeFilter(data, width, height, channels, r, !light), width, height, channels, r, light)
}
