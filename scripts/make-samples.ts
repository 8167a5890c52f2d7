// Writes the studio's sample photos (public/samples/) from the test fixtures (../shared/fixtures/images:
// astronaut NASA public domain, chelsea and coffee CC0): small, so a first visit sees a result in seconds.
//   node_modules/node/bin/node --import tsx scripts/make-samples.ts
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import sharp from 'sharp'
import { fixture, mulberry32 } from '../tests/helpers/images'

const out = resolve(import.meta.dirname, '../public/samples')
await mkdir(out, { recursive: true })

// A small portrait to upscale: 192 px, as a thumbnail saved from a web page.
await sharp(fixture('astronaut.png')).resize(192, 192).jpeg({ quality: 88 }).toFile(resolve(out, 'small-portrait.jpg'))

// A noisy phone-like photo to denoise: the cat with Gaussian sensor noise (sigma 18 levels).
const cat = await sharp(fixture('chelsea.png')).resize(300, 200).removeAlpha().raw().toBuffer({ resolveWithObject: true })
const random = mulberry32(7)
const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
const noisy = Buffer.from(cat.data.map((v) => Math.max(0, Math.min(255, Math.round(v + 18 * gauss())))))
await sharp(noisy, { raw: { width: 300, height: 200, channels: 3 } })
  .jpeg({ quality: 92 })
  .toFile(resolve(out, 'noisy-cat.jpg'))

// A captioned photo to remove the text from: a meme-style caption and a corner credit.
const caption = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320">
  <text x="240" y="292" font-family="DejaVu Sans" font-weight="bold" font-size="34" text-anchor="middle" fill="#fff" stroke="#000" stroke-width="2">Good morning!</text>
  <text x="10" y="24" font-family="DejaVu Sans" font-size="16" fill="#ffe14d">© cafe photos</text></svg>`
await sharp(fixture('coffee.png'))
  .resize(480, 320)
  .composite([{ input: Buffer.from(caption) }])
  .jpeg({ quality: 90 })
  .toFile(resolve(out, 'captioned-coffee.jpg'))
console.log('samples written to', out)
