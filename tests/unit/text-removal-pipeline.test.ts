import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OnnxGraphBuilder } from '../../inference/convert/onnx-graph'
import { LAMA, learnedTextRemovals, MIGAN, networkInpainter } from '../../inference/models/text-removal'
import { loadModel, resolveModelFiles } from '../../inference/runtime/model-files'

/** What a remove-text service in `dir` would offer of the learned models, and why it refuses the rest. */
async function learnedIn(dir: string) {
  const offered = []
  const refused: string[] = []
  for (const adapter of learnedTextRemovals) {
    const resolved = await resolveModelFiles(adapter, dir)
    if (resolved.status === 'ready') offered.push(adapter)
    if (resolved.status === 'refused') refused.push(resolved.reason)
  }
  return { offered, refused }
}
import type { Pixels } from '../../inference/runtime/image'
import { loadRgb, resize } from '../helpers/images'

// Plumbing of the learned inpainters, on generated stand-in models; the real detector and Telea: tests/quality/text-removal.test.ts.
const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })

/** Same inputs and output as the common LaMa export; fills holes with mid-grey, in 0..1 or 0..255. */
function lamaStandIn(outputScale: number): Uint8Array {
  const g = new OnnxGraphBuilder()
  const one = g.addInitializer('one', [], [1])
  const grey = g.addInitializer('grey', [], [0.5 * outputScale])
  const scale = g.addInitializer('scale', [], [outputScale])
  const keep = g.addNode('Sub', [one, 'mask'], 'keep')
  const kept = g.addNode('Mul', [g.addNode('Mul', ['image', keep], 'kept01'), scale], 'kept')
  const fill = g.addNode('Mul', ['mask', grey], 'fill')
  g.addNode('Add', [kept, fill], 'output')
  return g.build({
    graphName: 'lama-stand-in',
    opset: 17,
    inputs: [
      { name: 'image', dims: [1, 3, 512, 512] },
      { name: 'mask', dims: [1, 1, 512, 512] },
    ],
    outputs: [{ name: 'output', dims: [1, 3, 512, 512] }],
  })
}

/**
 * The MI-GAN pipeline export's inputs and output (uint8 image [1,3,H,W], uint8 mask [1,1,H,W] with
 * 0 = fill, uint8 result [1,3,H,W], any H and W). It fills a hole with 255 minus the pixel to its left
 * (a shift along the width, so a swapped layout or channel order shows), and, like the real
 * pipeline's soft blend, changes the pixels it keeps too (halves them), which paste-back must drop.
 */
function miganStandIn(): Uint8Array {
  const g = new OnnxGraphBuilder()
  const image = g.addNode('Cast', ['image'], 'image_f', { to: 1 })
  const keep = g.addNode('Div', [g.addNode('Cast', ['mask'], 'mask_f', { to: 1 }), g.addInitializer('full', [], [255])], 'keep')
  const left = g.addNode('Conv', [image, g.addInitializer('shift', [3, 1, 1, 3], [1, 0, 0, 1, 0, 0, 1, 0, 0])], 'left', {
    group: 3,
    kernel_shape: [1, 3],
    pads: [0, 1, 0, 1],
  })
  const fill = g.addNode('Sub', [g.addInitializer('white', [], [255]), left], 'fill')
  const kept = g.addNode('Mul', [image, g.addInitializer('half', [], [0.5])], 'kept')
  const hole = g.addNode('Sub', [g.addInitializer('one', [], [1]), keep], 'hole')
  const blend = g.addNode('Add', [g.addNode('Mul', [kept, keep], 'kept_part'), g.addNode('Mul', [fill, hole], 'fill_part')], 'blend')
  g.addNode('Cast', [blend], 'result', { to: 2 })
  const dims = (channels: number) => [1, channels, 'height', 'width']
  return g.build({
    graphName: 'migan-stand-in',
    opset: 17,
    inputs: [
      { name: 'image', dims: dims(3), type: 'uint8' },
      { name: 'mask', dims: dims(1), type: 'uint8' },
    ],
    outputs: [{ name: 'result', dims: dims(3), type: 'uint8' }],
  })
}

describe('LaMa loading, crop, resize and paste-back — tested with a generated stand-in ONNX model (no npm package ships LaMa weights)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lama-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it.each([1, 255])('paints only the hole, resized back from 512x512 (model output range 0..%i)', async (range) => {
    const path = join(dir, `lama-${range}.onnx`)
    await writeFile(path, lamaStandIn(range))
    const image = await loadRgb('coffee.png') // 600x400: crops get resized both ways
    const mask: Pixels = { width: image.width, height: image.height, channels: 1, data: new Uint8Array(image.width * image.height) }
    for (let y = 150; y < 190; y++) mask.data.fill(255, y * image.width + 200, y * image.width + 330)
    const inpaint = networkInpainter(LAMA, () => ort.InferenceSession.create(path))
    const out = await inpaint(image, mask, context())
    let insideGrey = 0
    let holes = 0
    for (let p = 0; p < mask.data.length; p++) {
      if (mask.data[p]) {
        holes++
        if (Math.abs(out.data[p * 3]! - 128) <= 1) insideGrey++
      } else for (let c = 0; c < 3; c++) expect(out.data[p * 3 + c]).toBe(image.data[p * 3 + c])
    }
    expect(insideGrey).toBe(holes)
  })
})

describe('MI-GAN pipeline loading, crop and paste-back — tested with a generated stand-in ONNX model, not MI-GAN (no npm package ships its weights)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'migan-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('crops around each hole at full resolution, and paints exactly the hole from the model, in the right place and channel', async () => {
    const path = join(dir, 'migan.onnx')
    await writeFile(path, miganStandIn())
    const image = await resize(await loadRgb('coffee.png'), 1800, 1200)
    const mask: Pixels = { width: image.width, height: image.height, channels: 1, data: new Uint8Array(image.width * image.height) }
    for (let y = 150; y < 190; y++) mask.data.fill(255, y * image.width + 200, y * image.width + 330)
    // A caption wider than the image is high: its crop is not square, so a swapped width and height shows.
    for (let y = 1000; y < 1060; y++) mask.data.fill(255, y * image.width + 200, y * image.width + 1650)
    const session = await ort.InferenceSession.create(path)
    const seen: number[][] = []
    const run = session.run.bind(session)
    session.run = ((feeds: Record<string, ort.Tensor>) => {
      seen.push([...feeds.image!.dims])
      return run(feeds)
    }) as typeof session.run
    const out = await networkInpainter(MIGAN, async () => session)(image, mask, context())
    // One crop per hole (the pipeline would take one square over both), never the whole image.
    expect(seen).toEqual([
      [1, 3, 260, 260],
      [1, 3, 1200, 1482],
    ])
    let changedOutside = 0
    let fromModel = 0
    for (let p = 0; p < mask.data.length; p++)
      for (let c = 0; c < 3; c++) {
        if (!mask.data[p]) changedOutside += out.data[p * 3 + c] === image.data[p * 3 + c] ? 0 : 1
        else fromModel += out.data[p * 3 + c] === 255 - image.data[(p - 1) * 3 + c]! ? 1 : 0
      }
    expect(changedOutside).toBe(0)
    expect(fromModel).toBe(3 * (130 * 40 + 1450 * 60))
  })

  it('offers LaMa and MI-GAN only for files that load with their contract, and says why not otherwise', async () => {
    const valid = await mkdtemp(join(dir, 'valid-'))
    await writeFile(join(valid, 'lama.onnx'), lamaStandIn(1))
    await writeFile(join(valid, 'migan.onnx'), miganStandIn())
    const { offered, refused } = await learnedIn(valid)
    expect(refused).toEqual([])
    expect(offered.map((a) => a.info.id)).toEqual(['text-removal-lama', 'text-removal-migan'])

    // The offered adapter runs from the folder: a user mask, nothing detected, only the hole changes.
    const adapter = await loadModel(offered[1]!, valid)
    const image = await loadRgb('chelsea.png')
    const user: Pixels = { width: image.width, height: image.height, channels: 1, data: new Uint8Array(image.width * image.height) }
    for (let y = 100; y < 140; y++) user.data.fill(255, y * image.width + 100, y * image.width + 160)
    const out = await adapter.process(image, { maskMode: 'user' }, { ...context(), mask: user })
    let wrong = 0
    for (let p = 0; p < user.data.length; p++) wrong += out.data[p * 3] === (user.data[p] ? 255 - image.data[(p - 1) * 3]! : image.data[p * 3]) ? 0 : 1
    expect(wrong).toBe(0)

    const corrupt = await mkdtemp(join(dir, 'corrupt-'))
    await writeFile(join(corrupt, 'migan.onnx'), 'not an onnx file')
    expect(await learnedIn(corrupt)).toEqual({
      offered: [],
      refused: [expect.stringMatching(/migan\.onnx is not offered as Remove text \(MI-GAN\): cannot be loaded: /)],
    })

    // A float model (here the LaMa stand-in) saved as migan.onnx is not the pipeline export.
    const foreign = await mkdtemp(join(dir, 'foreign-'))
    await writeFile(join(foreign, 'migan.onnx'), lamaStandIn(1))
    expect((await learnedIn(foreign)).refused).toEqual([
      expect.stringMatching(/migan\.onnx is not offered as Remove text \(MI-GAN\): expected the pipeline export \(uint8 inputs image and mask/),
    ])
  })
})
