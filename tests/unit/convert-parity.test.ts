import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { packageDir } from '../../inference/convert/catalogue'
import { convertLayersModel, loadLayersModel } from '../../inference/convert/tfjs-layers-to-onnx'
import * as ort from 'onnxruntime-node'
import { loadRgb } from '../helpers/images'

/** The same weights through UpscalerJS's own runtime (TF.js, cpu backend) and through our ONNX conversion. */
async function tfjsModel(modelJsonPath: string) {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'))
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights)
  const shards = await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dirname(modelJsonPath), p))))
  const data = Buffer.concat(shards)
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }))
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each([4, 2])('esrgan-medium x%i converted to ONNX', (scale) => {
  it('matches TF.js on a 64x64 crop of a real photo within 2/255', { timeout: 120_000 }, async () => {
    const modelJson = join(packageDir('@upscalerjs/esrgan-medium'), `models/x${scale}/model.json`)
    const crop = await loadRgb('chelsea.png', { left: 180, top: 60, width: 64, height: 64 })

    const reference = await tfjsModel(modelJson)
    const nhwc = tf.tensor4d(Float32Array.from(crop.data), [1, 64, 64, 3])
    const expected = (reference.predict(nhwc) as tf.Tensor).dataSync() as Float32Array

    const session = await ort.InferenceSession.create(convertLayersModel(await loadLayersModel(modelJson)))
    const chw = new Float32Array(3 * 64 * 64)
    for (let p = 0; p < 64 * 64; p++) for (let c = 0; c < 3; c++) chw[c * 4096 + p] = crop.data[p * 3 + c]!
    const out = await session.run({ input: new ort.Tensor('float32', chw, [1, 3, 64, 64]) })
    const actual = out.output!.data as Float32Array
    expect(out.output!.dims).toEqual([1, 3, 64 * scale, 64 * scale])

    // Compare on the 0..255 output scale the service writes, after the same clamp.
    const side = 64 * scale
    const plane = side * side
    let maxDiff = 0
    for (let p = 0; p < plane; p++)
      for (let c = 0; c < 3; c++) {
        const a = Math.min(255, Math.max(0, actual[c * plane + p]!))
        const e = Math.min(255, Math.max(0, expected[p * 3 + c]!))
        maxDiff = Math.max(maxDiff, Math.abs(a - e))
      }
    console.log(`esrgan-medium x${scale}: max |ONNX - TF.js| = ${maxDiff.toFixed(4)} (of 255)`)
    expect(maxDiff).toBeLessThanOrEqual(2)
    // Guard against a vacuous pass: the output must actually be an image, not zeros.
    expect(expected.reduce((s, v) => s + v, 0) / expected.length).toBeGreaterThan(20)
  })
})
