import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type ModelsList, StepSpec, stepTitle } from '../../contracts/api'
import { pipelineSize } from '../../contracts/job-progress'
import { checkStepOptions } from '../../contracts/model-options'
import { outputSize, sizeSuffix, type StepOptions } from '../../contracts/service'
import { resolveSteps } from '../../cli/steps'
import { buildStep, firstChoice, resolveModel } from '../../composables/taskChoice'
import { InferenceError } from '../../inference/runtime/errors'
import type { Pixels } from '../../inference/runtime/image'
import { planUpscale, upscaleOptions, upscaleTo } from '../../inference/runtime/output-size'
import { modelSizeProblem } from '../../lib/limits'

/** Any output size (a scale, or a target width or height) from networks of fixed magnification; no model runs here. */
const photo = { width: 1000, height: 750 }

describe('the size a step makes', () => {
  it('is the scale times the image, or the target width or height with the aspect ratio kept, or fits inside both', () => {
    expect(outputSize(photo, { scale: 4 })).toEqual({ width: 4000, height: 3000 })
    expect(outputSize(photo, {})).toEqual(photo)
    expect(outputSize(photo, { scale: 4, width: 3840 })).toEqual({ width: 3840, height: 2880 })
    expect(outputSize(photo, { height: 2160 })).toEqual({ width: 2880, height: 2160 })
    expect(outputSize(photo, { width: 3840, height: 2160 })).toEqual({ width: 2880, height: 2160 })
    expect(pipelineSize(photo, [{ options: { scale: 2 } }, { options: {} }, { options: { width: 3000 } }])).toEqual({ width: 3000, height: 2250 })
  })

  it('titles and names steps by it', () => {
    expect(stepTitle(StepSpec.parse({ task: 'upscale', model: 'm', options: { width: 3840 } }))).toBe('Upscale to 3840 px wide')
    expect(stepTitle(StepSpec.parse({ task: 'upscale', model: 'm', options: { height: 2160, scale: 4 } }))).toBe('Upscale to 2160 px high')
    expect(stepTitle(StepSpec.parse({ task: 'upscale', model: 'm', options: { scale: 3 } }))).toBe('Upscale ×3')
    expect(([{ scale: 4 }, { width: 3840 }, { width: 10, height: 20 }, { scale: 1 }, {}] as StepOptions[]).map((o) => sizeSuffix(o))).toEqual([
      'x4',
      'w3840',
      'w10h20',
      '',
      '',
    ])
  })
})

describe('planning an upscale', () => {
  it('runs the smallest network that reaches the size, then resizes to it exactly', () => {
    expect(planUpscale(photo, { scale: 2 }, [4])).toEqual({ networkScale: 4, target: { width: 2000, height: 1500 } })
    expect(planUpscale(photo, { scale: 3 }, [2, 3, 4, 8])).toEqual({ networkScale: 3, target: { width: 3000, height: 2250 } })
    expect(planUpscale(photo, { width: 2500 }, [2, 3, 4, 8]).networkScale).toBe(3)
    expect(planUpscale(photo, { width: 2000 }, [2, 3, 4, 8]).networkScale).toBe(2)
  })

  it('refuses a target the networks cannot reach, or one that is no larger than the photo', () => {
    const problem = (options: { width?: number; height?: number }) => {
      try {
        planUpscale(photo, options, [4])
      } catch (error) {
        return error instanceof InferenceError ? `${error.code}: ${error.message}` : String(error)
      }
      return 'accepted'
    }
    expect(problem({ width: 4001 })).toMatch(/^bad_request: 4001x3001 is x4\.00 .* reaches x4/)
    expect(problem({ width: 800 })).toMatch(/^bad_request: A 800x600 result is not larger/)
    expect(problem({ width: 4000 })).toBe('accepted')
  })

  it('resizes what the network made only when its size differs from the target', async () => {
    const made = (width: number, height: number): Pixels => ({ width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(100) })
    const exact = made(40, 30)
    expect(await upscaleTo(planUpscale({ width: 10, height: 7.5 }, { scale: 4 }, [4]), async () => exact)).toBe(exact)
    const resized = await upscaleTo(planUpscale({ width: 10, height: 8 }, { width: 25 }, [4]), async (scale) => made(10 * scale, 8 * scale))
    expect([resized.width, resized.height]).toEqual([25, 20])
    expect(resized.data.every((v) => v === 100)).toBe(true)
  })

  it('is declared in the options every upscaler takes, and checked as the orchestrator checks them', () => {
    const schema = upscaleOptions([2, 3, 4], 2)
    const info = { title: 'Real-ESRGAN', capabilities: { scales: [2, 3, 4], mask: false, detect: false }, options: z.toJSONSchema(schema, { io: 'input' }) }
    expect(schema.parse({})).toEqual({ scale: 2 })
    expect(checkStepOptions(info, { width: 3840 })).toEqual({ ok: true, options: { scale: 2, width: 3840 } })
    expect(checkStepOptions(info, { width: 0 }).ok).toBe(false)
    expect(checkStepOptions(info, { width: 38.5 }).ok).toBe(false)
    expect(modelSizeProblem(info, 1000, 750, { width: 3840 })).toBeNull()
    expect(modelSizeProblem(info, 1000, 750, { width: 4800 })).toMatch(/Real-ESRGAN reaches x4: 4800x3600 is x4\.80 .*Upscale twice/)
    expect(modelSizeProblem(info, 1000, 750, { height: 700 })).toMatch(/not larger than this 1000x750 photo/)
    expect(modelSizeProblem(info, 1000, 750, { scale: 4 })).toBeNull()
  })
})

describe('choosing an upscaler in the studio and the CLI', () => {
  const model = (id: string, quality: 'fast' | 'balanced' | 'best', madeFor: 'photo' | 'clean') =>
    ({
      id,
      task: 'upscale',
      title: id,
      description: '',
      quality,
      madeFor,
      available: true,
      capabilities: { scales: [2, 3, 4], mask: false, detect: false },
      options: z.toJSONSchema(upscaleOptions([2, 3, 4], 2), { io: 'input' }),
    }) as ModelsList['models'][number]
  const catalogue = [
    model('clean-fast', 'fast', 'clean'),
    model('clean-balanced', 'balanced', 'clean'),
    model('photo-balanced', 'balanced', 'photo'),
    model('photo-best', 'best', 'photo'),
  ]

  it('starts on photos at balanced quality, and picks among the models made for the source chosen', () => {
    const choice = firstChoice(catalogue)
    expect(choice).toMatchObject({ madeFor: 'photo', quality: 'balanced', scale: 4, width: null })
    expect(resolveModel(catalogue, choice)?.id).toBe('photo-balanced')
    expect(resolveModel(catalogue, { ...choice, quality: 'best' })?.id).toBe('photo-best')
    expect(resolveModel(catalogue, { ...choice, quality: 'fast' })).toBeUndefined()
    expect(resolveModel(catalogue, { ...choice, madeFor: 'clean', quality: 'fast' })?.id).toBe('clean-fast')
  })

  it('sends a target width instead of the scale when one is given', () => {
    const choice = firstChoice(catalogue)
    const chosen = catalogue[2]!
    expect(buildStep(chosen, choice).options).toEqual({ scale: 4 })
    expect(buildStep(chosen, { ...choice, width: 3840 }).options).toEqual({ width: 3840 })
  })

  it('takes --width and --height on the command line, and defaults to the balanced model made for photos', () => {
    expect(resolveSteps([{ task: 'upscale', options: {} }], catalogue, { width: '3840' })).toEqual([
      { task: 'upscale', model: 'photo-balanced', options: { scale: 4, width: 3840 } },
    ])
    expect(() => resolveSteps([{ task: 'upscale', options: {} }], catalogue, { height: 'tall' })).toThrow(/height/)
  })
})
