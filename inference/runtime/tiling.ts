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
  /**
   * Width in input pixels of a linear cross-fade between neighbouring tiles, centred on the border
   * between their cores (at most 2 x margin). 0 keeps each core as it is, which is exact for models
   * whose receptive field fits in the margin (ESRGAN); models that mix over the whole tile (MAXIM)
   * give each tile a slightly different answer, and the fade hides where one hands over to the next.
   */
  feather?: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
  /** Called after each tile with the output as far as it is written (the buffer itself: read it, do not keep it). */
  onPartial?: (partial: PartialOutput) => void
}

/**
 * A tiled run's output while it runs. Tiles go row by row: output rows below `rows` are written, and in the
 * band after them, rows up to `bandEnd` are written for the columns below `bandColumns`; the rest is zeros.
 */
export interface PartialOutput {
  image: Pixels
  rows: number
  bandEnd: number
  bandColumns: number
  done: number
  total: number
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
    // A core whose window slid onto the previous one's is computed with it, not twice.
    const last = spans.at(-1)
    if (last?.windowStart === windowStart) last.coreEnd = coreEnd
    else spans.push({ coreStart, coreEnd, windowStart, windowEnd: windowStart + windowSize })
  }
  return spans
}

/**
 * Weights along one axis, per span: 1 inside its core, fading linearly to 0 across `feather` pixels
 * around each border with a neighbour, so that at every pixel the weights of all spans add up to 1.
 */
function axisWeights(spans: ReturnType<typeof planAxis>, feather: number, scale: number): Float32Array[] {
  const half = (feather * scale) / 2
  return spans.map((span, i) => {
    const start = span.windowStart * scale
    const weights = new Float32Array((span.windowEnd - span.windowStart) * scale)
    for (let j = 0; j < weights.length; j++) {
      const p = start + j + 0.5
      const fadeIn = i === 0 ? 1 : (p - (span.coreStart * scale - half)) / (2 * half)
      const fadeOut = i === spans.length - 1 ? 1 : (span.coreEnd * scale + half - p) / (2 * half)
      weights[j] = Math.min(1, Math.max(0, fadeIn), Math.max(0, fadeOut))
    }
    return weights
  })
}

/**
 * Runs `model` over `image` tile by tile. Each tile is computed with `margin` pixels of context;
 * without feathering only its core is written, so memory is bounded by the tile and the 8-bit
 * output, and the result equals an untiled run wherever the model's receptive field fits in the
 * margin. With feathering, one row of tiles at a time is summed in floats before it is written.
 */
export async function runTiled(image: Pixels, model: TileModel, options: TileOptions): Promise<Pixels> {
  const { scale } = model
  const feather = Math.min(options.feather ?? 0, 2 * options.margin, options.tileSize)
  const rows = planAxis(image.height, options.tileSize, options.margin)
  const cols = planAxis(image.width, options.tileSize, options.margin)
  const rowWeights = feather > 0 ? axisWeights(rows, feather, scale) : []
  const colWeights = feather > 0 ? axisWeights(cols, feather, scale) : []
  const outWidth = image.width * scale
  const output = new Uint8Array(outWidth * image.height * scale * 3)
  const outImage: Pixels = { width: outWidth, height: image.height * scale, channels: 3, data: output }
  // Output rows every earlier band has finished (feathered bands are written whole, once no later tile reaches them).
  let finishedRows = 0
  const total = rows.length * cols.length
  const toModel = model.valueRange / 255
  const fromModel = 255 / model.valueRange
  // Feathering: the weighted sum of the current row of tiles, output rows [bandStart, bandStart + band rows).
  let band: Float32Array | null = null
  let bandStart = 0
  let done = 0
  options.onProgress?.(0, total)
  for (const [r, row] of rows.entries()) {
    if (feather > 0) {
      const start = row.windowStart * scale
      const next = new Float32Array(outWidth * (row.windowEnd - row.windowStart) * scale * 3)
      // Rows the previous band shares with this one carry its half of the cross-fade.
      if (band) next.set(band.subarray((start - bandStart) * outWidth * 3))
      band = next
      bandStart = start
    }
    for (const [c, col] of cols.entries()) {
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
      if (band) {
        const wy = rowWeights[r]!
        const wx = colWeights[c]!
        const x0 = col.windowStart * scale
        for (let y = 0; y < oh; y++) {
          if (wy[y] === 0) continue
          let dst = (y * outWidth + x0) * 3
          for (let x = 0; x < ow; x++, dst += 3) {
            const weight = wy[y]! * wx[x]! * fromModel
            if (weight === 0) continue
            const s = y * ow + x
            band[dst]! += result[s]! * weight
            band[dst + 1]! += result[outPlane + s]! * weight
            band[dst + 2]! += result[2 * outPlane + s]! * weight
          }
        }
      } else {
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
      }
      // Counted outside the call: `f?.(++done)` skips its arguments, and the count, when there is no f.
      done++
      options.onProgress?.(done, total)
      // Without feathering a tile's core is final as it is written; with it, only whole bands are (below).
      if (!band && done < total)
        options.onPartial?.({
          image: outImage,
          rows: finishedRows,
          bandEnd: row.coreEnd * scale,
          bandColumns: col.coreEnd * scale,
          done,
          total,
        })
    }
    if (!band) finishedRows = row.coreEnd * scale
    else {
      // Rows no later tile reaches are final.
      const finalEnd = r === rows.length - 1 ? image.height * scale : rows[r + 1]!.windowStart * scale
      const values = (finalEnd - bandStart) * outWidth * 3
      const offset = bandStart * outWidth * 3
      for (let i = 0; i < values; i++) output[offset + i] = clamp(band[i]!)
      finishedRows = finalEnd
      if (done < total) options.onPartial?.({ image: outImage, rows: finishedRows, bandEnd: finishedRows, bandColumns: 0, done, total })
    }
  }
  return outImage
}

function clamp(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5
}
