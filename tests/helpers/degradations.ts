import sharp, { type Sharp } from 'sharp'
import type { Pixels } from '../../inference/runtime/image'

/**
 * Synthetic versions of what each enhance model undoes, made from clean fixture photos so the
 * result can be scored against the original. Fixed parameters and seeds: the same image every run.
 */
const raw = (p: Pixels) => sharp(Buffer.from(p.data), { raw: { width: p.width, height: p.height, channels: 3 } })
const pixels = async (image: Sharp): Promise<Pixels> => {
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) }
}
const map = (p: Pixels, f: (v: number, i: number) => number): Pixels => ({
  ...p,
  data: Uint8Array.from(p.data, (v, i) => Math.min(255, Math.max(0, Math.round(f(v, i))))),
})

/** Horizontal camera shake: the mean of 9 shifted copies. */
export const motionBlur = (p: Pixels) =>
  pixels(raw(p).convolve({ width: 9, height: 3, kernel: [...Array(9).fill(0), ...Array(9).fill(1), ...Array(9).fill(0)], scale: 9 }))

/** Uniform haze, the atmospheric scattering model I = J t + A (1 - t) with transmission 0.6 and airlight 0.9. */
export const haze = (p: Pixels) => map(p, (v) => v * 0.6 + 255 * 0.9 * 0.4)

/** A dark exposure: a quarter of the light, then the sensor's gamma. */
export const lowLight = (p: Pixels) => map(p, (v) => 255 * (v / 255) ** 1.6 * 0.35)

/** The degradation each enhance model is meant to undo (retouching has none: it restyles clean photos). */
export async function degrade(modelId: string, p: Pixels): Promise<Pixels> {
  if (modelId.includes('deblurring')) return motionBlur(p)
  if (modelId.includes('dehazing')) return haze(p)
  if (modelId.includes('enhancement')) return lowLight(p)
  return p
}
