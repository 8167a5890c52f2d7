import type { InferenceSession } from 'onnxruntime-node'
import type { CalibrationInput } from '../../inference/convert/quantize'
import { ESRGAN_TILE, type EsrganVariant, tileSizeOf } from '../../inference/models/esrgan'
import type { Pixels } from '../../inference/runtime/image'
import { runImageSession } from '../../inference/runtime/sessions'
import { runTiled } from '../../inference/runtime/tiling'
import { hwcToChw, loadRgb, mulberry32 } from './images'

/** One HWC RGB image as the NCHW float input of a network whose white is `valueRange`. */
export function networkInput(image: Pixels, valueRange: number): CalibrationInput {
  const data = hwcToChw(image.data, image.width * image.height)
  if (valueRange !== 255) for (let i = 0; i < data.length; i++) data[i] = (data[i]! / 255) * valueRange
  return { data, dims: [1, 3, image.height, image.width] }
}

/** A generated texture: gratings at a few angles and frequencies, colour ramps and grain (what the photos lack). */
function texture(side: number, seed: number): Pixels {
  const next = mulberry32(seed)
  const data = new Uint8Array(side * side * 3)
  const angle = next() * Math.PI
  const frequency = 0.1 + next() * 0.6
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const u = x * Math.cos(angle) + y * Math.sin(angle)
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(u * frequency + c) * (0.4 + (0.6 * x) / side) + 30 * (next() - 0.5) + ((c - 1) * 40 * y) / side
        data[(y * side + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)))
      }
    }
  return { width: side, height: side, channels: 3, data }
}

/**
 * Calibration inputs for the quantizer: 96 px crops of the four fixture photos (skin, fur, cloth, metal, wood, sky)
 * and two generated textures (sharp gratings and grain, saturated ramps), as the network sees them.
 */
export async function calibrationSet(valueRange: number): Promise<CalibrationInput[]> {
  const side = 96
  const crops: [string, number, number][] = [
    ['astronaut.png', 160, 40],
    ['astronaut.png', 300, 330],
    ['chelsea.png', 40, 20],
    ['chelsea.png', 250, 150],
    ['coffee.png', 80, 60],
    ['coffee.png', 400, 250],
    ['camera.png', 200, 100],
    ['camera.png', 100, 380],
  ]
  const images: Pixels[] = []
  for (const [name, left, top] of crops) images.push(await loadRgb(name, { left, top, width: side, height: side }))
  images.push(texture(side, 1), texture(side, 2))
  return images.map((image) => networkInput(image, valueRange))
}

/** One ESRGAN-family network session over a whole image, tiled as the service tiles it (int8 and fp32 alike). */
export const tiledUpscale = (session: InferenceSession, variant: EsrganVariant, scale: number, image: Pixels) =>
  runTiled(
    image,
    { scale, valueRange: variant.valueRange, run: (input, h, w) => runImageSession(session, input, h, w) },
    { tileSize: tileSizeOf(variant), margin: ESRGAN_TILE.margin },
  )
