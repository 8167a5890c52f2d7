import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ensureConverted } from '../convert/cache'
import type { ModelAdapter, ModelFiles, ModelSource } from '../models/adapter'
import { modelsDir, packageDir } from './model-paths'

export { modelsDir, packageDir }

/** Where one source's file is (or, for `convert`, will be once converted). */
async function resolveSource(source: ModelSource, dir: string, log?: (line: string) => void): Promise<string> {
  switch (source.kind) {
    case 'convert': {
      const { path, converted } = await ensureConverted(source, dir)
      if (converted) log?.(`converted ${source.npmPackage}/${source.path} -> ${path}`)
      return path
    }
    case 'package-file': {
      // A container image bakes the file into the models folder and leaves the package out.
      const baked = join(dir, source.file)
      if (existsSync(baked)) return baked
      const shipped = join(packageDir(source.npmPackage), source.path)
      if (!existsSync(shipped)) throw new Error(`Weights missing: ${source.npmPackage} has no ${source.path}; reinstall it with \`npm ci\`.`)
      return shipped
    }
    case 'user-file':
      return join(dir, source.file)
  }
}

export type ResolvedModel =
  | { status: 'ready'; files: ModelFiles }
  /** A user file is not in the models folder: the model is simply not offered. */
  | { status: 'absent'; reason: string }
  /** A user file is there but unusable: not offered, and the reason is worth a warning. */
  | { status: 'refused'; reason: string }

/** Resolves every source of one adapter: converts what needs converting, finds shipped and user files, checks user files. */
export async function resolveModelFiles(adapter: ModelAdapter, dir = modelsDir(), log?: (line: string) => void): Promise<ResolvedModel> {
  const files = new Map<string, string>()
  for (const source of adapter.sources) {
    const path = await resolveSource(source, dir, log)
    if (source.kind === 'user-file') {
      if (!existsSync(path)) return { status: 'absent', reason: `${adapter.info.id} needs ${path}` }
      const problem = source.check ? await source.check(path).catch((error: Error) => `cannot be checked: ${error.message}`) : null
      if (problem) return { status: 'refused', reason: `${path} is not offered as ${adapter.info.title}: ${problem}` }
    }
    files.set(source.file, path)
  }
  return { status: 'ready', files }
}

/** Whether every user file an adapter needs is in the models folder (a cheap look before resolving). */
export const userFilesPresent = (adapter: ModelAdapter, dir = modelsDir()) =>
  adapter.sources.every((s) => s.kind !== 'user-file' || existsSync(join(dir, s.file)))

/** Resolves and loads one adapter (tests and tools); throws when its files are absent or refused. */
export async function loadModel<A extends ModelAdapter>(adapter: A, dir = modelsDir()): Promise<A> {
  const resolved = await resolveModelFiles(adapter, dir)
  if (resolved.status !== 'ready') throw new Error(resolved.reason)
  await adapter.load(resolved.files)
  return adapter
}
