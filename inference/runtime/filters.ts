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
  const tmp = new Uint8Array(data.length)
  const out = new Uint8Array(data.length)
  const longest = Math.max(width, height)
  const buffers = { line: new Uint8Array(longest + 2 * r), prefix: new Uint8Array(longest + 2 * r), suffix: new Uint8Array(longest + 2 * r) }
  for (let y = 0; y < height; y++) for (let c = 0; c < channels; c++) extremeLine(data, tmp, y * width * channels + c, channels, width, r, max, buffers)
  for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) extremeLine(tmp, out, x * channels + c, width * channels, height, r, max, buffers)
  return out
}

/**
 * van Herk / Gil-Werman: the extreme over every window of 2r + 1 along one line from running
 * extremes within blocks of that size, forwards and backwards: three comparisons per pixel, whatever r.
 */
function extremeLine(
  src: Uint8Array,
  dst: Uint8Array,
  start: number,
  stride: number,
  count: number,
  r: number,
  max: boolean,
  { line, prefix, suffix }: { line: Uint8Array; prefix: Uint8Array; suffix: Uint8Array },
) {
  const size = 2 * r + 1
  const n = count + 2 * r
  // The line with its ends repeated r times (edges clamped).
  for (let i = 0; i < n; i++) line[i] = src[start + Math.min(count - 1, Math.max(0, i - r)) * stride]!
  const pick = max ? Math.max : Math.min
  for (let i = 0; i < n; i++) prefix[i] = i % size === 0 ? line[i]! : pick(prefix[i - 1]!, line[i]!)
  for (let i = n - 1; i >= 0; i--) suffix[i] = i % size === size - 1 || i === n - 1 ? line[i]! : pick(suffix[i + 1]!, line[i]!)
  // Window [i, i + 2r] of the padded line is centred on pixel i.
  for (let i = 0; i < count; i++) dst[start + i * stride] = pick(suffix[i]!, prefix[i + size - 1]!)
}

/** The photo under thin light (`light`) or dark structures: an opening, or a closing, of radius r. */
export function withoutThinStrokes(data: Uint8Array, width: number, height: number, channels: number, r: number, light: boolean): Uint8Array {
  return extremeFilter(extremeFilter(data, width, height, channels, r, !light), width, height, channels, r, light)
}
