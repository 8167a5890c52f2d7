/**
 * Records UpscalerJS's own TF.js output (cpu backend) for each MAXIM graph model on the parity
 * test's input (tests/helpers/tfjs-references.ts). Slow by nature: tens of minutes per model on one
 * core, so packages can be named to record only those.
 *
 *   npx tsx scripts/record-tfjs-references.ts [@upscalerjs/maxim-denoising ...]
 */
import * as tf from '@tensorflow/tfjs'
import { graphModelPackages } from '../inference/models/maxim'
import { loadUpscalerGraphModel } from '../tests/helpers/tfjs-models'
import { REFERENCE_SIZE, referenceInput, weightsHash, writeReference } from '../tests/helpers/tfjs-references'

await tf.setBackend('cpu')
const packages = process.argv.slice(2).length ? process.argv.slice(2) : graphModelPackages()
const input = await referenceInput()
for (const npmPackage of packages) {
  const model = await loadUpscalerGraphModel(tf, npmPackage)
  const started = Date.now()
  const result = (await model.executeAsync(tf.tensor4d(input.nhwc, [1, REFERENCE_SIZE, REFERENCE_SIZE, 3]))) as tf.Tensor
  const values = result.dataSync() as Float32Array
  const seconds = (Date.now() - started) / 1000
  const path = await writeReference({
    npmPackage,
    weightsSha256: await weightsHash(npmPackage),
    tfjsVersion: tf.version.tfjs,
    backend: tf.getBackend(),
    seconds,
    size: REFERENCE_SIZE,
    input: input.recipe,
    output: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64'),
  })
  console.log(`${npmPackage}: TF.js ${tf.getBackend()} took ${seconds.toFixed(0)} s; wrote ${path}`)
  model.dispose()
}
