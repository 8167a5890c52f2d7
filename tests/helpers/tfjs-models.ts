import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type * as tfjs from '@tensorflow/tfjs'
import { packageDir } from '../../inference/runtime/model-paths'

/**
 * UpscalerJS's own runtime path in Node, the reference our conversions are checked and benchmarked
 * against: the package's model definition (value ranges; `setup` registers its custom layers or
 * ops), then TF.js loads the model from the package's files.
 */
export interface UpscalerModelDefinition {
  inputRange: [number, number]
  outputRange: [number, number]
  setup?: (tf: typeof tfjs) => void
}

const require = createRequire(join(process.cwd(), 'package.json'))

/** The definition of one ESRGAN scale (`<package>/<scale>x`) or of a single-model package (MAXIM). */
export function upscalerDefinition(npmPackage: string, scale?: number): UpscalerModelDefinition {
  const loaded = require(scale ? `${npmPackage}/${scale}x` : npmPackage) as UpscalerModelDefinition | { default: UpscalerModelDefinition }
  return 'default' in loaded ? loaded.default : loaded
}

/** model.json's topology and weights, read into memory the way tf.io.fromMemory wants them. */
async function artifacts(modelJsonPath: string): Promise<tfjs.io.ModelArtifacts> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'))
  const weightSpecs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights)
  const shards = await Promise.all(
    json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dirname(modelJsonPath), p))),
  )
  const data = Buffer.concat(shards)
  return { modelTopology: json.modelTopology, weightSpecs, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }
}

/** An ESRGAN layers model at one scale. */
export async function loadUpscalerModel(tf: typeof tfjs, npmPackage: string, scale: number) {
  upscalerDefinition(npmPackage, scale).setup?.(tf)
  return tf.loadLayersModel(tf.io.fromMemory(await artifacts(join(packageDir(npmPackage), `models/x${scale}/model.json`))))
}

/** A MAXIM graph model (its definition registers the custom ops the graph uses). */
export async function loadUpscalerGraphModel(tf: typeof tfjs, npmPackage: string) {
  upscalerDefinition(npmPackage).setup?.(tf)
  return tf.loadGraphModel(tf.io.fromMemory(await artifacts(join(packageDir(npmPackage), 'models/model.json'))))
}
