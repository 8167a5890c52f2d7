import { mkdtemp, readFile, writeFile, cp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { StepSpec, stepTitle } from '../../contracts/api'
import { checkStepOptions } from '../../contracts/model-options'
import { MODEL_TASKS, serviceResource, serviceUrlsEnv, TASKS } from '../../contracts/tasks'
import { sourceHash } from '../../inference/convert/cache'
import { CONVERTERS } from '../../inference/convert/converters'
import { TASK_MODELS } from '../../inference/models/registry'
import { packageDir } from '../../inference/runtime/model-paths'
import { INFERENCE_SERVICES } from '../../infra/services'

/** The contracts every part derives from, checked without a stack or weights (plumbing only). */
describe('the task table', () => {
  it('derives names, ports and entries for every task, each with its models', () => {
    expect(MODEL_TASKS.map(serviceUrlsEnv)).toEqual(['UPSCALE_SERVICE_URLS', 'DENOISE_SERVICE_URLS', 'ENHANCE_SERVICE_URLS', 'REMOVE_TEXT_SERVICE_URLS'])
    expect(MODEL_TASKS.map(serviceResource)).toEqual(['Upscale', 'Denoise', 'Enhance', 'RemoveText'])
    expect(new Set(MODEL_TASKS.map((t) => TASKS[t].port)).size).toBe(MODEL_TASKS.length)
    for (const task of MODEL_TASKS) {
      expect(INFERENCE_SERVICES[task]).toMatchObject({ task, entry: 'inference/service/main.ts', port: TASKS[task].port })
      expect(TASK_MODELS[task].length).toBeGreaterThan(0)
      for (const adapter of TASK_MODELS[task]) expect(adapter.info.task).toBe(task)
    }
  })
})

describe('step options', () => {
  const info = (options: z.ZodObject, scales = [1]) => ({
    title: 'Model',
    capabilities: { scales, mask: false, detect: false },
    options: z.toJSONSchema(options, { io: 'input' }),
  })
  const upscaler = info(z.strictObject({ scale: z.literal([2, 4]).default(2) }), [2, 4])
  const remover = info(z.strictObject({ maskMode: z.enum(['detected', 'user', 'both']).default('both'), strength: z.number().min(0).max(1).default(0.5) }))

  it('fills in the defaults the model declares', () => {
    expect(checkStepOptions(upscaler, {})).toEqual({ ok: true, options: { scale: 2 } })
    expect(checkStepOptions(remover, { strength: 0.2 })).toEqual({ ok: true, options: { maskMode: 'both', strength: 0.2 } })
  })

  it('says what is wrong in words: a scale the model lacks, an unknown option, a value outside the choices or range', () => {
    expect(checkStepOptions(upscaler, { scale: 3 })).toEqual({ ok: false, problem: 'Model runs at x2, x4, not x3.' })
    expect(checkStepOptions(remover, { scale: 2 })).toEqual({ ok: false, problem: 'Model runs at x1, not x2.' })
    expect(checkStepOptions(upscaler, { scale: 2, colour: 'red' })).toEqual({ ok: false, problem: "Model has no option 'colour'; it takes 'scale'." })
    expect(checkStepOptions(remover, { maskMode: 'all' })).toEqual({ ok: false, problem: `Model: maskMode is one of 'detected', 'user', 'both', not "all".` })
    const range = checkStepOptions(remover, { strength: 2 })
    expect(range.ok).toBe(false)
    expect(!range.ok && range.problem).toMatch(/^Model: strength: .*1/)
  })

  it('drops a scale of 1 on models that keep the size (older clients send it on every step)', () => {
    expect(checkStepOptions(remover, { scale: 1 })).toEqual({ ok: true, options: { maskMode: 'both', strength: 0.5 } })
  })

  it('reads a top-level scale as options.scale, and titles steps by task and scale', () => {
    const step = StepSpec.parse({ task: 'upscale', model: 'esrgan-slim', scale: '4' })
    expect(step).toEqual({ task: 'upscale', model: 'esrgan-slim', options: { scale: 4 } })
    expect(stepTitle(step)).toBe('Upscale ×4')
    expect(stepTitle(StepSpec.parse({ task: 'remove-text', model: 'text-removal', options: { maskMode: 'user' } }))).toBe('Remove text')
  })
})

describe('the conversion cache', () => {
  it('hashes every file of a TF.js model (model.json and each weight shard), so a changed shard means a new conversion', async () => {
    const shipped = join(packageDir('@upscalerjs/esrgan-slim'), 'models/x2')
    const copy = await mkdtemp(join(tmpdir(), 'restora-source-'))
    await cp(shipped, copy, { recursive: true })
    const entry = join(copy, 'model.json')
    const files = await CONVERTERS['tfjs-layers'].sourceFiles(entry)
    expect(files[0]).toBe(entry)
    expect(files.length).toBeGreaterThan(1)
    const before = await sourceHash({ format: 'tfjs-layers' }, entry)
    const shard = files.at(-1)!
    const bytes = await readFile(shard)
    bytes[bytes.length - 1]! ^= 1
    await writeFile(shard, bytes)
    expect(await sourceHash({ format: 'tfjs-layers' }, entry)).not.toBe(before)
  })
})
