import type { ModelsList, StepSpec } from '../contracts/api'
import { preferredScale } from '../contracts/job-progress'
import { optionProperties } from '../contracts/model-options'
import type { MaskMode, ModelTask, StepOptions } from '../contracts/service'

/**
 * What the studio offers for a task, read from its models' capabilities and option schemas (never
 * from task or model names): which model, at what scale, with which options. No Vue here.
 */

export type CatalogueModel = ModelsList['models'][number]
export type OptionValue = string | number | boolean
export type Quality = NonNullable<CatalogueModel['quality']>
export type MadeFor = NonNullable<CatalogueModel['madeFor']>

export const MADE_FOR: { value: MadeFor; label: string; title: string }[] = [
  { value: 'photo', label: 'Photo', title: 'Camera and phone photos, scans, JPEGs: blur, noise and compression are cleaned while upscaling' },
  { value: 'clean', label: 'Clean image', title: 'Renders, art, screenshots and clean downscales: detail is added, nothing is cleaned' },
]

/** Whether the task's models are made for different sources, so the person says which the picture is. */
export const choosesMadeFor = (models: CatalogueModel[]) => new Set(models.map((m) => m.madeFor)).size > 1

/** The task's models for the source chosen (all of them where the task does not ask). */
export const forSource = (models: CatalogueModel[], choice: Pick<TaskChoice, 'madeFor'>) =>
  choosesMadeFor(models) ? models.filter((m) => m.madeFor === choice.madeFor) : models

export const QUALITIES: { value: Quality; label: string }[] = [
  { value: 'fast', label: 'Fast' },
  { value: 'balanced', label: 'Balanced' },
  { value: 'best', label: 'Best' },
]

/** One task's settings as the person chose them. */
export interface TaskChoice {
  on: boolean
  /** The model picked from a list (tasks whose models have no quality level). */
  model: string
  /** The quality level (tasks whose models all have one: the model follows quality and scale). */
  quality: Quality
  /** What the picture is, where the task's models are made for different sources (photos or clean images). */
  madeFor: MadeFor
  scale: number
  /** A target width in pixels instead of the scale (models with a `width` option); null: by scale. */
  width: number | null
  /** Run the step twice (magnifying tasks: ×16 in two ×4 passes). */
  twice: boolean
  /** Values of the model's other options; a missing one takes the schema's default. */
  options: Record<string, OptionValue>
  /** Whether the task's models magnify: those run last (so an upscale never sharpens noise or text). */
  magnifies: boolean
}

/** One of a model's options as a form field, from its JSON Schema. */
export interface OptionField {
  key: string
  label: string
  kind: 'select' | 'checkbox' | 'range' | 'number' | 'text'
  choices: OptionValue[]
  min?: number
  max?: number
  step?: number
  default?: OptionValue
}

export const magnifies = (model: CatalogueModel) => model.capabilities.scales.some((s) => s > 1)

/** Scales the task's models offer together, in order. */
export const taskScales = (models: CatalogueModel[]) => [...new Set(models.flatMap((m) => m.capabilities.scales))].sort((a, b) => a - b)

/** A task whose every model has a quality level is chosen by quality (and scale), not from a list. */
export const choosesByQuality = (models: CatalogueModel[]) => models.length > 0 && models.every((m) => m.quality)

/** Options the studio sets itself: the scale (its own control) and, for models taking a mask, how the mask combines. */
const setByPage = (model: CatalogueModel) => (model.capabilities.mask ? ['scale', 'maskMode'] : ['scale', 'width', 'height'])

type PropertySchema = ReturnType<typeof optionProperties>[string] & { title?: string }

function fieldOf(key: string, property: PropertySchema): OptionField | null {
  const label = property.title ?? property.description ?? key
  const base = { key, label, choices: [] as OptionValue[], default: property.default as OptionValue | undefined }
  const isValue = (v: unknown): v is OptionValue => ['string', 'number', 'boolean'].includes(typeof v)
  if (property.enum) return { ...base, kind: 'select', choices: property.enum.filter(isValue) }
  if (property.type === 'boolean') return { ...base, kind: 'checkbox' }
  if (property.type === 'integer' || property.type === 'number') {
    const ranged = property.minimum !== undefined && property.maximum !== undefined
    const step = property.type === 'integer' ? 1 : ranged ? (property.maximum! - property.minimum!) / 100 : undefined
    return { ...base, kind: ranged ? 'range' : 'number', min: property.minimum, max: property.maximum, step }
  }
  if (property.type === 'string') return { ...base, kind: 'text' }
  return null
}

/** The model's options the person sets, as form fields. */
export function optionFields(model: CatalogueModel): OptionField[] {
  const skip = setByPage(model)
  return Object.entries(optionProperties(model))
    .filter(([key]) => !skip.includes(key))
    .map(([key, property]) => fieldOf(key, property))
    .filter((field): field is OptionField => field !== null)
}

function fits(field: OptionField, value: OptionValue) {
  switch (field.kind) {
    case 'select':
      return field.choices.includes(value)
    case 'checkbox':
      return typeof value === 'boolean'
    case 'text':
      return typeof value === 'string'
    default:
      if (typeof value !== 'number' || !Number.isFinite(value)) return false
      return (field.min === undefined || value >= field.min) && (field.max === undefined || value <= field.max)
  }
}

/** The model the choice names among those available (or, with none ready, those listed), if it offers the scale chosen. */
export function resolveModel(models: CatalogueModel[], choice: TaskChoice): CatalogueModel | undefined {
  // A service that is busy or restarting keeps its models listed, unavailable (server/trpc/routers/models.ts): with
  // none ready, the choice still resolves among them, and a job started waits in the queue for the service.
  const ofSource = forSource(models, choice)
  const ready = ofSource.filter((m) => m.available)
  const offered = ready.length ? ready : ofSource
  const byScale = (m: CatalogueModel) => !taskScales(models).some((s) => s !== 1) || m.capabilities.scales.includes(choice.scale)
  if (choosesByQuality(models)) return offered.find((m) => m.quality === choice.quality && byScale(m))
  const model = offered.find((m) => m.id === choice.model) ?? offered[0]
  return model && byScale(model) ? model : undefined
}

/** The step a choice makes: the scale where the model has that option, and the other options set (and still valid). */
export function buildStep(model: CatalogueModel, choice: TaskChoice): StepSpec {
  const options: StepOptions = {}
  const declared = optionProperties(model)
  if (choice.width && 'width' in declared) options.width = choice.width
  else if ('scale' in declared) options.scale = choice.scale
  for (const field of optionFields(model)) {
    const value = choice.options[field.key]
    if (value !== undefined && fits(field, value)) options[field.key] = value
  }
  return { task: model.task, model: model.id, options }
}

/** Sets the mask mode of the steps whose model takes a mask (and has that option). */
export function withMaskMode(steps: StepSpec[], models: CatalogueModel[], mode: MaskMode): StepSpec[] {
  return steps.map((step, i) => {
    const model = models[i]
    return model?.capabilities.mask && 'maskMode' in optionProperties(model) ? { ...step, options: { ...step.options, maskMode: mode } } : step
  })
}

/** A new task's settings: magnifying tasks start chosen (the studio is an upscaler first). */
export function firstChoice(models: CatalogueModel[]): TaskChoice {
  return {
    on: models.some(magnifies),
    model: models.find((m) => m.available)?.id ?? '',
    quality: 'balanced',
    madeFor: models.some((m) => m.madeFor === 'photo') ? 'photo' : (models.find((m) => m.madeFor)?.madeFor ?? 'photo'),
    scale: preferredScale(taskScales(models)),
    width: null,
    twice: false,
    options: {},
    magnifies: models.some(magnifies),
  }
}

/** Tasks in the order their steps run: those keeping the size in the table's order, magnifying ones last. */
export const runOrder = (tasks: ModelTask[], magnifying: (task: ModelTask) => boolean) =>
  [...tasks].sort((a, b) => Number(magnifying(a)) - Number(magnifying(b)))
