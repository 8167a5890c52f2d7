import type { Pixels } from './image'
import { InferenceError } from './errors'

/** A fully convolutional image model: CHW float in, CHW float out, `scale` times larger. */
export interface TileModel {
  scale: number
  /** Pixel value the model expects for white (255 for 0..255 models, 1 for 0..1 models). */
  valueRange: number
  run(input: Float32Array, height: number, width: number): Promise<Float32Array>
}

export interface TileOptions {
  /** Side of the part of each tile that is kept, in input pixels. */
  tileSize: number
  /** Context added around each tile and thrown away afterwards, so seams never show. */
  margin: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}

/** Splits [0, length) into cores of `core` pixels, each with a window of context around it. */
export function planAxis(length: number, core: number, margin: number) {
  const windowSize = Math.min(length, core + 2 * margin)
  const spans: { coreStart: number; coreEnd: number; windowStart: number; windowEnd: number }[] = []
  for (let coreStart = 0; coreStart < length; coreStart += core) {
    const coreEnd = Math.min(length, coreStart + core)
    // Every window has the same size (edge windows slide inward) so the model sees one shape.
    let windowStart = Math.max(0, coreStart - margin)
    windowStart = Math.min(windowStart, length - windowSize)
    spans.push({ coreStart, coreEnd, windowStart, windowEnd: windowStart + windowSize })
  }
  return spans
}

/**
 * Runs `model` over `image` tile by tile. Each tile is computed with `margin` pixels of
 * context and only its core is written, so memory is bounded by the tile and the 8-bit output,
 * and the result equals an untiled run wherever the model's receptive field fits in the margin.
 */
export async function runTiled(image: Pixels, model: TileModel, options: TileOptions): Promise<Pixels> {
  const { scale } = model
  const rows = planAxis(image.height, options.tileSize, options.margin)
  const cols = planAxis(image.width, options.tileSize, options.margin)
  const outWidth = image.width * scale
  const output = new Uint8Array(outWidth * image.height * scale * 3)
  const total = rows.length * cols.length
  const toModel = model.valueRange / 255
  const fromModel = 255 / model.valueRange
  let done = 0
  options.onProgress?.(0, total)
  for (const row of rows) {
    for (const col of cols) {
      if (options.signal?.aborted) throw new InferenceError('cancelled', 'The job was cancelled.')
      const h = row.windowEnd - row.windowStart
      const w = col.windowEnd - col.windowStart
      const plane = h * w
      const input = new Float32Array(3 * plane)
      for (let y = 0; y < h; y++) {
        let src = ((row.windowStart + y) * image.width + col.windowStart) * 3
        for (let x = 0; x < w; x++, src += 3) {
          const dst = y * w + x
          input[dst] = image.data[src]! * toModel
          input[plane + dst] = image.data[src + 1]! * toModel
          input[2 * plane + dst] = image.data[src + 2]! * toModel
        }
      }
      const result = await model.run(input, h, w)
      const oh = h * scale
      const ow = w * scale
      const outPlane = oh * ow
      if (result.length !== 3 * outPlane) throw new InferenceError('internal', `model returned ${result.length} values for a ${w}x${h} tile at x${scale}`)
      const y0 = (row.coreStart - row.windowStart) * scale
      const x0 = (col.coreStart - col.windowStart) * scale
      const keptH = (row.coreEnd - row.coreStart) * scale
      const keptW = (col.coreEnd - col.coreStart) * scale
      for (let y = 0; y < keptH; y++) {
        let dst = ((row.coreStart * scale + y) * outWidth + col.coreStart * scale) * 3
        const srcRow = (y0 + y) * ow + x0
        for (let x = 0; x < keptW; x++, dst += 3) {
          const s = srcRow + x
          // Uint8Array assignment truncates; +0.5 rounds, and the clamp is explicit.
          output[dst] = clamp(result[s]! * fromModel)
          output[dst + 1] = clamp(result[outPlane + s]! * fromModel)
          output[dst + 2] = clamp(result[2 * outPlane + s]! * fromModel)
        }
      }
      options.onProgress?.(++done, total)
    }
  }
  return { width: outWidth, height: image.height * scale, channels: 3, data: output }
}

function clamp(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5
}
