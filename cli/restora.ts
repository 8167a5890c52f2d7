// restora: the command-line client of a running Restora server (same typed API as the web app).
//   restora upscale <file|folder> [-o out] [--scale 4] [--model esrgan-medium]
//   restora denoise <file|folder> [-o out] [--model ...]
//   restora enhance <file|folder> --model maxim-dehazing-outdoor   (deblur, dehaze, low light, retouch)
//   restora remove-text <file|folder> [-o out]
//   restora pipeline <file|folder> --steps upscale:esrgan-medium:2,upscale:esrgan-medium:2 [-o out]
// Server and account: RESTORA_URL (default http://127.0.0.1:3000), RESTORA_EMAIL, RESTORA_PASSWORD.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { SingleBar, Presets } from 'cli-progress'
import { createJobFormData, type JobView, type StepSpec } from '../contracts/api'
import { ModelTask } from '../contracts/service'
import { errorMessage } from '../lib/error-message'
import { createApiClient, type ApiClient } from './client'

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'])
const DEFAULT_MODEL: Record<ModelTask, string> = { upscale: 'esrgan-medium', denoise: 'maxim-denoising', enhance: 'maxim-deblurring', 'remove-text': 'text-removal' }

export function parsePipeline(command: string, values: { steps?: string; scale?: string; model?: string }): StepSpec[] {
  if (command === 'pipeline') {
    if (!values.steps) throw new Error('pipeline needs --steps task:model[:scale],...')
    return values.steps.split(',').map((part) => {
      const [task, model, scale] = part.split(':')
      const parsed = ModelTask.safeParse(task)
      if (!parsed.success) throw new Error(`Unknown task '${task}' in --steps (use ${ModelTask.options.join(', ')})`)
      return { task: parsed.data, model: model || DEFAULT_MODEL[parsed.data], scale: Number(scale ?? 1) }
    })
  }
  const task = ModelTask.safeParse(command)
  if (!task.success) throw new Error(`Unknown command '${command}'. Use upscale, denoise, enhance, remove-text or pipeline.`)
  return [{ task: task.data, model: values.model ?? DEFAULT_MODEL[task.data], scale: Number(values.scale ?? (task.data === 'upscale' ? 4 : 1)) }]
}

async function inputsOf(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path]
  return (await readdir(path)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort().map((f) => join(path, f))
}

async function waitForJob(api: ApiClient, id: string, onProgress: (job: JobView) => void): Promise<JobView> {
  for (;;) {
    const job = await api.jobs.get.query({ id })
    onProgress(job)
    if (job.status !== 'queued' && job.status !== 'running') return job
    await new Promise((r) => setTimeout(r, 300))
  }
}

function jobFraction(job: JobView): number {
  const steps = job.steps
  return steps.reduce((sum, s) => sum + (s.status === 'succeeded' ? 1 : s.progress && s.progress.total ? s.progress.done / s.progress.total : 0), 0) / steps.length
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, scale: { type: 'string' }, model: { type: 'string' }, steps: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
  const [command, target] = positionals
  if (values.help || !command || !target) {
    console.log('usage: restora <upscale|denoise|enhance|remove-text|pipeline> <file|folder> [-o out] [--scale N] [--model ID] [--steps task:model:scale,...]')
    return values.help ? 0 : 2
  }
  const steps = parsePipeline(command, values)
  const files = await inputsOf(target)
  if (files.length === 0) throw new Error(`No images in ${target}`)
  const folderMode = files.length > 1 || (await stat(target)).isDirectory()
  const outDir = folderMode ? (values.output ?? `${target.replace(/\/$/, '')}-restored`) : null
  if (outDir) await mkdir(outDir, { recursive: true })

  const baseUrl = process.env.RESTORA_URL ?? 'http://127.0.0.1:3000'
  const { api, download } = createApiClient(baseUrl)
  const email = process.env.RESTORA_EMAIL
  const password = process.env.RESTORA_PASSWORD
  if (!email || !password) throw new Error('Set RESTORA_EMAIL and RESTORA_PASSWORD (your account on the server).')
  await api.auth.signIn.mutate({ email, password })

  const bar = new SingleBar({ format: ' {bar} {percentage}% | {value}/{total} images | {file}', hideCursor: true }, Presets.shades_classic)
  bar.start(files.length, 0, { file: '' })
  let failures = 0
  for (const [index, file] of files.entries()) {
    const name = basename(file)
    try {
      const image = new File([await readFile(file)], name)
      const created = await api.jobs.create.mutate(createJobFormData({ image, steps }))
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
