import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type * as tfjs from '@tensorflow/tfjs'
import { packageDir } from '../../inference/convert/catalogue'

/** UpscalerJS's model definition for one package and scale: value ranges, and the custom layers `setup` registers. */
export interface UpscalerModelDefinition {
  inputRange: [number, number]
  outputRange: [number, number]
  setup?: (tf: typeof tfjs) => void
}

const require = createRequire(join(process.cwd(), 'package.json'))

export function upscalerDefinition(npmPackage: string, scale: number): UpscalerModelDefinition {
  return require(`${npmPackage}/${scale}x`) as UpscalerModelDefinition
}

/**
 * Loads an UpscalerJS model the way UpscalerJS does in Node: its definition's `setup` registers
 * the custom layers, then TF.js loads the layers model from the package's files.
 */
export async function loadUpscalerModel(tf: typeof tfjs, npmPackage: string, scale: number) {
  upscalerDefinition(npmPackage, scale).setup?.(tf)
  const modelJsonPath = join(packageDir(npmPackage), `models/x${scale}/model.json`)
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'))
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights)
  const shards = await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dirname(modelJsonPath), p))))
  const data = Buffer.concat(shards)
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }))
}
