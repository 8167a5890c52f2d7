import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConvertSource } from '../models/adapter'
import { modelsDir, packageDir } from '../runtime/model-paths'
import { CONVERTERS } from './converters'

/** Bumped whenever the converters' output changes, so cached conversions made by an older one are redone. */
export const CONVERTER_VERSION = 3

/** sha256 over every file a model is made of (its converter says which): what a conversion and a recorded reference are pinned to. */
export async function sourceHash(source: Pick<ConvertSource, 'format'>, entry: string): Promise<string> {
  const hash = createHash('sha256')
  for (const file of await CONVERTERS[source.format].sourceFiles(entry)) hash.update(await readFile(file))
  return hash.digest('hex')
}

/**
 * The conversion cache: returns the path of the converted model, converting it first if it is
 * missing or any of its source files changed (the hash is kept beside the .onnx). Writes are
 * atomic, so a crash mid-conversion never leaves a half-written model for the next start to load.
 */
export async function ensureConverted(source: ConvertSource, dir = modelsDir()): Promise<{ path: string; converted: boolean }> {
  const target = join(dir, source.file)
  const stamp = `${target}.source.json`
  // Container images bake the converted model in and leave the weights package out: use it as built.
  if (process.env.MODELS_BAKED === '1' && existsSync(target) && existsSync(stamp)) return { path: target, converted: false }
  const entry = join(packageDir(source.npmPackage), source.path)
  if (!existsSync(entry)) throw new Error(`Weights missing: ${source.npmPackage} has no ${source.path}; reinstall it with \`npm ci\`.`)
  const hash = await sourceHash(source, entry)
  if (existsSync(target) && existsSync(stamp)) {
    const previous = JSON.parse(await readFile(stamp, 'utf8')) as { sha256?: string; converter?: number }
    if (previous.sha256 === hash && previous.converter === CONVERTER_VERSION) return { path: target, converted: false }
  }
  const bytes = await CONVERTERS[source.format].convert(entry, {
    inputSize: source.inputSize,
    docString: `Converted from ${source.npmPackage}/${source.path} (sha256 ${hash})`,
  })
  await mkdir(dir, { recursive: true })
  const tmp = `${target}.${process.pid}.tmp`
  await writeFile(tmp, bytes)
  await rename(tmp, target)
  await writeFile(
    stamp,
    JSON.stringify({ npmPackage: source.npmPackage, path: source.path, format: source.format, sha256: hash, converter: CONVERTER_VERSION }, null, 2),
  )
  return { path: target, converted: true }
}
