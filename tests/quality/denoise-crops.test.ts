import { beforeAll, describe, expect, it } from 'vitest'
import { loadModel } from '../../inference/runtime/model-files'
import { maximDenoising } from '../../inference/models/maxim'
import { type Crop, gainOf } from '../helpers/denoise'

beforeAll(async () => {
  await loadModel(maximDenoising)
})

/**
 * MAXIM costs ~4.6 s of both cores per 256 px tile, so the gain is checked on one-tile crops of
 * different content (skin, fur, cloth, a cup, wood), and on whole photos through the service's
 * tiles (cross-faded) in denoise-whole.test.ts: astronaut.png (512x512) and chelsea.png (451x300,
 * sides that are no multiple of the tile). A crop has less to gain than a whole photo where it is mostly smooth
 * texture (coffee.png's wooden table: +3.76 dB at sigma 15, first run), so each crop must gain
 * >= 3.5 dB and the crops together >= 5 dB on average; whole photos >= 4 dB each.
 */
const CROPS: [string, Crop][] = [
  ['astronaut.png', { left: 128, top: 0, width: 256, height: 256 }],
  ['astronaut.png', { left: 256, top: 256, width: 256, height: 256 }],
  ['chelsea.png', { left: 120, top: 20, width: 256, height: 256 }],
  ['coffee.png', { left: 160, top: 60, width: 256, height: 256 }],
  ['coffee.png', { left: 340, top: 144, width: 256, height: 256 }],
]
const SIGMAS = [15, 25]
describe.each(CROPS)('maxim-denoising on a 256x256 crop of %s at %o', (name, crop) => {
  it.each(SIGMAS)('gains >= 3.5 dB PSNR over the input at Gaussian sigma %i', { timeout: 900_000 }, async (sigma) => {
    expect(await gainOf(name, sigma, crop)).toBeGreaterThanOrEqual(3.5)
  })
})

it('gains >= 5 dB on average over the crops and both noise levels', { timeout: 900_000 }, async () => {
  const gains = []
  for (const [name, crop] of CROPS) for (const sigma of SIGMAS) gains.push(await gainOf(name, sigma, crop))
  const mean = gains.reduce((a, b) => a + b, 0) / gains.length
  console.log(`mean gain over ${gains.length} crops: +${mean.toFixed(2)} dB`)
  expect(mean).toBeGreaterThanOrEqual(5)
})
