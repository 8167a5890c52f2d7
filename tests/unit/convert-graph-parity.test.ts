import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import * as ort from 'onnxruntime-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { packageDir } from '../../inference/convert/catalogue'
import { convertGraphModel, loadGraphModel } from '../../inference/convert/tfjs-graph-to-onnx'
import { addGaussianNoise, loadRgb } from '../helpers/images'

/**
 * The same MAXIM weights through UpscalerJS's own runtime (TF.js graph model, cpu backend, with
 * the package's own op registrations) and through our TF.js graph -> ONNX conversion.
 * TF.js cpu needs over ten CPU-minutes for this 43k-node graph even at 64x64, the smallest legal
 * size (its cpu Einsum materialises the full broadcast product), hence the long timeout.
 */
async function tfjsGraphModel(npmPackage: string, modelJsonPath: string) {
  const definition = (await import(npmPackage)).default as { setup?: (t: typeof tf) => void }
  definition.setup?.(tf)
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'))
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights)
  const shards = await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dirname(modelJsonPath), p))))
  const data = Buffer.concat(shards)
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }))
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const SIZE = 64

describe.each(['@upscalerjs/maxim-denoising'])('%s converted from a TF.js graph model to ONNX', (npmPackage) => {
  it(`matches TF.js on a noisy ${SIZE}x${SIZE} crop of a real photo within 2/255`, { timeout: 2_400_000 }, async () => {
    const modelJson = join(packageDir(npmPackage), 'models/model.json')
    const crop = addGaussianNoise(await loadRgb('astronaut.png', { left: 160, top: 60, width: SIZE, height: SIZE }), 25, 7)
    const unit = Float32Array.from(crop.data, (v) => v / 255)

    const { bytes, stats } = convertGraphModel(await loadGraphModel(modelJson), { inputShape: [1, SIZE, SIZE, 3] })
    console.log(`${npmPackage}: ${stats.tfNodes} TF nodes, ${stats.folded} folded at conversion, ${stats.onnxNodes} ONNX nodes`)
    const session = await ort.InferenceSession.create(bytes)
    const chw = new Float32Array(3 * SIZE * SIZE)
    const plane = SIZE * SIZE
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = unit[p * 3 + c]!
    const out = await session.run({ input: new ort.Tensor('float32', chw, [1, 3, SIZE, SIZE]) })
    expect(out.output!.dims).toEqual([1, 3, SIZE, SIZE])
    const actual = out.output!.data as Float32Array

    const reference = await tfjsGraphModel(npmPackage, modelJson)
    const started = Date.now()
    const result = (await reference.executeAsync(tf.tensor4d(unit, [1, SIZE, SIZE, 3]))) as tf.Tensor
    const expected = result.dataSync() as Float32Array
    console.log(`${npmPackage}: TF.js cpu took ${((Date.now() - started) / 1000).toFixed(1)} s at ${SIZE}x${SIZE}`)

    // Compare on the 0..255 scale the service writes, after the same clamp.
    const to255 = (v: number) => Math.min(255, Math.max(0, v * 255))
    let maxDiff = 0
    let moved = 0
    for (let p = 0; p < plane; p++)
      for (let c = 0; c < 3; c++) {
        maxDiff = Math.max(maxDiff, Math.abs(to255(actual[c * plane + p]!) - to255(expected[p * 3 + c]!)))
        moved += Math.abs(to255(expected[p * 3 + c]!) - crop.data[p * 3 + c]!)
      }
    console.log(`${npmPackage}: max |ONNX - TF.js| = ${maxDiff.toFixed(4)} (of 255); mean change from the input ${(moved / (3 * plane)).toFixed(2)}`)
    expect(maxDiff).toBeLessThanOrEqual(2)
    // Guard against a vacuous pass: the model must actually change the noisy input (it denoises).
    expect(moved / (3 * plane)).toBeGreaterThan(3)
  })
})
