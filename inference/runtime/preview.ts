import sharp from 'sharp'
import { type Pixels, resizePixels } from './image'
import type { PartialOutput } from './tiling'

/** Longest side of a preview: enough to see the tiles arrive on the stage, small enough to send every few seconds. */
export const PREVIEW_SIDE = 384
/** At most one preview this often per run, so making them costs the run a few per cent at most (bench/preview-cost.ts). */
export const PREVIEW_EVERY_MS = Number(process.env.PREVIEW_EVERY_MS) || 2000

const previewSize = (image: { width: number; height: number }) => {
  const k = Math.min(1, PREVIEW_SIDE / Math.max(image.width, image.height))
  return { width: Math.max(1, Math.round(image.width * k)), height: Math.max(1, Math.round(image.height * k)) }
}

/**
 * Makes JPEG previews of one run: the finished part of the output (PartialOutput) over the input (dimmed),
 * both at preview size. The input's small copy is made once per run; each preview resizes the output buffer once.
 */
export function previewMaker(input: Pixels) {
  let base: Promise<Pixels> | null = null
  return async function preview(partial: PartialOutput): Promise<Buffer> {
    const size = previewSize(partial.image)
    base ??= resizePixels(input, size.width, size.height)
    const [under, over] = await Promise.all([base, resizePixels(partial.image, size.width, size.height, 'linear')])
    // What is still to do shows dimmed, so the finished tiles stand out as they arrive.
    const out = Uint8Array.from(under.data, (v) => v * 0.55)
    const sy = partial.image.height / size.height
    const sx = partial.image.width / size.width
    for (let y = 0; y < size.height; y++) {
      // A preview pixel shows the output where the whole of its footprint is written.
      const bottom = (y + 1) * sy
      if (bottom > partial.bandEnd) break
      const inBand = bottom > partial.rows
      const width = inBand ? Math.min(size.width, Math.floor(partial.bandColumns / sx)) : size.width
      out.set(over.data.subarray(y * size.width * 3, (y * size.width + width) * 3), y * size.width * 3)
    }
    return sharp(out, { raw: { width: size.width, height: size.height, channels: 3 } })
      .jpeg({ quality: 70 })
      .toBuffer()
  }
}

/**
 * The `onPartial` of one run that sends previews: one at a time, at most every PREVIEW_EVERY_MS, and none once
 * `open()` says the run has ended (a late one must not land between the result's header and its bytes).
 */
export function throttledPreviews(
  input: Pixels,
  send: (preview: { done: number; total: number; jpeg: Buffer }) => void,
  open: () => boolean,
  onError: (error: unknown) => void = () => {},
) {
  const preview = previewMaker(input)
  let last = Date.now()
  let busy = false
  return (partial: PartialOutput) => {
    if (busy || Date.now() - last < PREVIEW_EVERY_MS) return
    busy = true
    last = Date.now()
    const { done, total } = partial
    preview(partial)
      .then((jpeg) => open() && send({ done, total, jpeg }))
      .catch(onError)
      .finally(() => (busy = false))
  }
}
