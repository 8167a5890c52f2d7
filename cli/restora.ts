// restora: the command-line client of a running Restora server (same typed API as the web app).
//   restora upscale <file|folder> [-o out] [--scale 4 | --width 3840 | --height 2160] [--model realesrgan-x4plus]
//   restora denoise <file|folder> [-o out] [--model ...]
//   restora enhance <file|folder> --model maxim-dehazing-outdoor   (deblur, dehaze, low light, retouch)
//   restora remove-text <file|folder> [-o out] [--mask mask.png] [--option maskMode=user]
//   restora pipeline <file|folder> --steps upscale:esrgan-medium:2,upscale:esrgan-medium:2 [-o out]
//   restora models   (each model's capabilities and options, for --model and --option key=value)
// Options are checked against the model's own schema (from the server) before anything is uploaded.
// Server and account: RESTORA_URL (default http://127.0.0.1:3000), RESTORA_EMAIL, RESTORA_PASSWORD.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { SingleBar, Presets } from 'cli-progress'
import { createJobFormData, type JobView } from '../contracts/api'
import { isUnfinished, jobFraction } from '../contracts/job-progress'
import { errorMessage } from '../lib/error-message'
import { createApiClient, type ApiClient } from './client'
import { COMMANDS, describeModels, parsePipeline, resolveSteps } from './steps'

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'])
const USAGE = [
  `usage: restora <${COMMANDS.join('|')}> <file|folder> [-o out] [--scale N | --width PX | --height PX] [--model ID]`,
  '                [--option key=value]... [--mask file.png] [--steps task:model:scale,...]',
  '       restora models',
].join('\n')

async function inputsOf(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path]
  return (await readdir(path))
    .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(path, f))
}

async function waitForJob(api: ApiClient, id: string, onProgress: (job: JobView) => void): Promise<JobView> {
  for (;;) {
    const job = await api.jobs.get.query({ id })
    onProgress(job)
    if (!isUnfinished(job.status)) return job
    await new Promise((r) => setTimeout(r, 300))
  }
}

async function signIn(api: ApiClient) {
  const email = process.env.RESTORA_EMAIL
  const password = process.env.RESTORA_PASSWORD
  if (!email || !password) throw new Error('Set RESTORA_EMAIL and RESTORA_PASSWORD (your account on the server).')
  await api.auth.signIn.mutate({ email, password })
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      scale: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      model: { type: 'string' },
      steps: { type: 'string' },
      option: { type: 'string', multiple: true },
      mask: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, target] = positionals
  const baseUrl = process.env.RESTORA_URL ?? 'http://127.0.0.1:3000'
  const { api, download } = createApiClient(baseUrl)
  if (command === 'models' && !values.help) {
    await signIn(api)
    console.log(describeModels((await api.models.list.query()).models))
    return 0
  }
  if (values.help || !command || !target) {
    console.log(USAGE)
    return values.help ? 0 : 2
  }
  const requested = parsePipeline(command, values)
  const files = await inputsOf(target)
  if (files.length === 0) throw new Error(`No images in ${target}`)
  const folderMode = files.length > 1 || (await stat(target)).isDirectory()
  const outDir = folderMode ? (values.output ?? `${target.replace(/\/$/, '')}-restored`) : null
  if (outDir) await mkdir(outDir, { recursive: true })

  await signIn(api)
  const catalogue = (await api.models.list.query()).models
  const steps = resolveSteps(requested.steps, catalogue, requested.shared)
  const usedModels = steps.map((step) => catalogue.find((m) => m.id === step.model)!)
  if (values.mask && !usedModels.some((m) => m.capabilities.mask)) throw new Error('--mask: no step of this pipeline takes a mask.')
  const mask = values.mask ? new File([await readFile(values.mask)], basename(values.mask), { type: 'image/png' }) : undefined

  const bar = new SingleBar({ format: ' {bar} {percentage}% | {value}/{total} images | {file}', hideCursor: true }, Presets.shades_classic)
  bar.start(files.length, 0, { file: '' })
  let failures = 0
  for (const [index, file] of files.entries()) {
    const name = basename(file)
    try {
      const image = new File([await readFile(file)], name)
      const created = await api.jobs.create.mutate(createJobFormData({ image, steps, mask }))
      const job = await waitForJob(api, created.id, (j) => bar.update(index + jobFraction(j), { file: name }))
      if (job.status !== 'succeeded') throw new Error(job.error?.message ?? `job ${job.status}`)
      await api.auth.me.query() // refreshes the session cookie if the access token expired meanwhile
      const response = await download(`/api/jobs/${job.id}/result`)
      if (!response.ok) throw new Error(`download failed: HTTP ${response.status}`)
      const out = outDir ? join(outDir, `${basename(file, extname(file))}.png`) : (values.output ?? `${basename(file, extname(file))}-restored.png`)
      await writeFile(out, Buffer.from(await response.arrayBuffer()))
      bar.update(index + 1, { file: name })
      if (!folderMode) {
        bar.stop()
        console.log(`${file} -> ${out} (${job.output!.width}x${job.output!.height})`)
      }
      for (const step of job.steps) if (step.report) console.log(`${name}: ${step.report.summary}`)
    } catch (error) {
      failures++
      bar.update(index + 1, { file: name })
      console.error(`\n${name}: ${errorMessage(error)}`)
    }
  }
  bar.stop()
  if (folderMode) console.log(`${files.length - failures} of ${files.length} images restored into ${outDir}`)
  return failures ? 1 : 0
}

export function run(argv: string[]) {
  main(argv).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`restora: ${errorMessage(error)}`)
      process.exit(1)
    },
  )
}
