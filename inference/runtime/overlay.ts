/**
 * Semi-transparent overlays (watermarks): seen = a * overlay + (1 - a) * photo, with a flat white or
 * black overlay. Given an estimate of the photo without the letters (the background: an opening or
 * closing that removes thin strokes), each pixel's mixing a follows; letters sit at the overlay's
 * opacity and everything else near 0. Undoing the mix keeps the photo's own texture under the
 * letters, which no fill can invent.
 */

export interface OverlayFit {
  overlay: 0 | 255
  /** The overlay's opacity (the letters' mean mixing). */
  alpha: number
  /** Mixing above which a pixel is under the letters (halfway between the two levels). */
  threshold: number
  /** Interquartile range of the letters' mixing: small for one flat overlay. */
  spread: number
  /** Per pixel of `at`, its mixing estimate (NaN where the background is too close to the overlay to tell). */
  estimates: Float32Array
}

/** Smallest and largest opacity taken for an overlay: beyond these it is either not there or opaque text (a fill's job). */
const MIN_ALPHA = 0.25
const MAX_ALPHA = 0.85

/**
 * Fits a flat overlay of colour `overlay` to the RGB pixels `at` (indices into interleaved `rgb`
 * and `background`), or null when they do not look like letters at 25-85 % opacity over the
 * background: two levels of mixing (2-means), far enough apart, the upper one flat.
 */
export function fitOverlay(
  rgb: Uint8Array,
  background: Uint8Array,
  at: ArrayLike<number>,
  overlay: 0 | 255,
  minShare = 0.03,
  maxShare = 0.7,
): OverlayFit | null {
  const estimates = new Float32Array(at.length)
  const finite: number[] = []
  for (let k = 0; k < at.length; k++) {
    const i = at[k]! * 3
    let sum = 0
    let n = 0
    for (let c = 0; c < 3; c++) {
      const bg = background[i + c]!
      if (Math.abs(overlay - bg) < 40) continue
      sum += (rgb[i + c]! - bg) / (overlay - bg)
      n++
    }
    estimates[k] = n ? sum / n : Number.NaN
    if (n) finite.push(estimates[k]!)
  }
  if (finite.length < 16) return null
  finite.sort((a, b) => a - b)
  let low = 0
  let high = Math.max(0.3, finite[Math.floor(finite.length * 0.95)]!)
  for (let iteration = 0; iteration < 12; iteration++) {
    const mid = (low + high) / 2
    let split = finite.findIndex((a) => a >= mid)
    if (split < 0) split = finite.length
    if (split === finite.length) break
    low = split ? finite.slice(0, split).reduce((x, y) => x + y, 0) / split : 0
    high = finite.slice(split).reduce((x, y) => x + y, 0) / (finite.length - split)
  }
  const threshold = (low + high) / 2
  const upper = finite.filter((a) => a >= threshold)
  const share = upper.length / finite.length
  if (high < MIN_ALPHA || high > MAX_ALPHA || high - low < 0.2 || share < minShare || share > maxShare) return null
  const spread = upper[Math.floor(upper.length * 0.75)]! - upper[Math.floor(upper.length * 0.25)]!
  if (spread > 0.25) return null
  return { overlay, alpha: high, threshold, spread, estimates }
}

/**
 * The photo's pixel under the overlay, or null where undoing the mix would take it further from
 * the background than it is (a dark grain next to black letters is not under them).
 */
export function unmix(rgb: Uint8Array, background: Uint8Array, i: number, fit: OverlayFit): [number, number, number] | null {
  const out: [number, number, number] = [0, 0, 0]
  let before = 0
  let after = 0
  for (let c = 0; c < 3; c++) {
    out[c] = Math.max(0, Math.min(255, Math.round((rgb[i + c]! - fit.alpha * fit.overlay) / (1 - fit.alpha))))
    before += Math.abs(rgb[i + c]! - background[i + c]!)
    after += Math.abs(out[c]! - background[i + c]!)
  }
  return after < before ? out : null
}
