import type { ModelsList, StepSpec } from '../contracts/api'
import { preferredScale } from '../contracts/job-progress'
import { checkStepOptions, optionProperties } from '../contracts/model-options'
import { ModelTask, type StepOptions } from '../contracts/service'
import { MODEL_TASKS } from '../contracts/tasks'

type CatalogueModel = ModelsList['models'][number]

/** A step as the command line asks for it: the model may be left to the server's catalogue, the options are still text. */
export interface StepRequest {
  task: ModelTask
  model?: string
  options: Record<string, string>
}

export const COMMANDS = [...MODEL_TASKS, 'pipeline'] as const

/** `key=value` pairs of --option (repeatable). */
export function parseOptionFlags(flags: string[] = []): Record<string, string> {
  const options: Record<string, string> = {}
  for (const flag of flags) {
    const eq = flag.indexOf('=')
    if (eq < 1) throw new Error(`--option takes key=value, not '${flag}'`)
    options[flag.slice(0, eq).trim()] = flag.slice(eq + 1).trim()
  }
  return options
}

/**
 * The steps a command asks for, before the server says which models exist, and the options given
 * for all of them (--option key=value, and --scale, --width, --height as those options).
 */
export function parsePipeline(command: string, values: { steps?: string; scale?: string; width?: string; height?: string; model?: string; option?: string[] }) {
  const shared = parseOptionFlags(values.option)
  // --width and --height ask for an output size in pixels instead of a scale (the model pass that reaches it, then a resize).
  for (const key of ['scale', 'width', 'height'] as const) if (values[key] !== undefined) shared[key] = values[key]
  if (command === 'pipeline') {
    if (!values.steps) throw new Error('pipeline needs --steps task:model[:scale],...')
    const steps = values.steps.split(',').map((part): StepRequest => {
      const [task, model, scale] = part.split(':')
      const parsed = ModelTask.safeParse(task)
      if (!parsed.success) throw new Error(`Unknown task '${task}' in --steps (use ${MODEL_TASKS.join(', ')})`)
      return { task: parsed.data, model: model || undefined, options: scale ? { scale } : {} }
    })
    return { steps, shared }
  }
  const task = ModelTask.safeParse(command)
  if (!task.success) throw new Error(`Unknown command '${command}'. Use ${MODEL_TASKS.join(', ')} or pipeline.`)
  return { steps: [{ task: task.data, model: values.model, options: {} }] as StepRequest[], shared }
}

/** The model a step runs when none is named: as the studio's first choice, made for photos and balanced where models say so. */
function defaultModel(models: CatalogueModel[]) {
  const ready = models.filter((m) => m.available)
  const candidates = ready.length ? ready : models
  const balanced = candidates.filter((m) => m.quality === 'balanced')
  return balanced.find((m) => m.madeFor !== 'clean') ?? balanced[0] ?? candidates[0]
}

/** Text from the command line as the type the model's schema declares (numbers, booleans); other text stays text. */
function typed(model: CatalogueModel, key: string, text: string): string | number | boolean {
  const property = optionProperties(model)[key]
  const declared = property?.enum?.find((v) => String(v) === text)
  if (declared !== undefined && ['string', 'number', 'boolean'].includes(typeof declared)) return declared as string | number | boolean
  if ((property?.type === 'integer' || property?.type === 'number' || key === 'scale') && text !== '' && Number.isFinite(Number(text))) return Number(text)
  if (property?.type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true'
  return text
}

/**
 * The steps to send: each model found in the server's catalogue, its options checked against the
 * model's own schema (unknown options, values out of range and wrong scales are refused here, with
 * what the model takes). A shared option goes to the steps whose model declares it (to the only
 * step of a one-step command in any case, so a wrong one is refused with what the model takes).
 */
export function resolveSteps(requests: StepRequest[], catalogue: CatalogueModel[], shared: Record<string, string> = {}): StepSpec[] {
  const used = new Set<string>()
  const steps = requests.map((request) => {
    const ofTask = catalogue.filter((m) => m.task === request.task)
    if (ofTask.length === 0) throw new Error(`The server offers no ${request.task} model right now (its service is not answering).`)
    const model = request.model ? ofTask.find((m) => m.id === request.model) : defaultModel(ofTask)
    if (!model) throw new Error(`Unknown ${request.task} model '${request.model}' (use ${ofTask.map((m) => m.id).join(', ')})`)
    const declared = optionProperties(model)
    const given: Record<string, string> = {}
    for (const [key, text] of Object.entries(shared)) {
      if (requests.length > 1 && !(key in declared)) continue
      given[key] = text
      used.add(key)
    }
    Object.assign(given, request.options)
    const options: StepOptions = Object.fromEntries(Object.entries(given).map(([key, text]) => [key, typed(model, key, text)]))
    if ('scale' in declared && options.scale === undefined) options.scale = preferredScale(model.capabilities.scales)
    const checked = checkStepOptions(model, options)
    if (!checked.ok) throw new Error(checked.problem)
    return { task: model.task, model: model.id, options: checked.options as StepOptions }
  })
  const unused = Object.keys(shared).filter((key) => !used.has(key))
  if (unused.length) throw new Error(`No step of this pipeline takes ${unused.map((k) => `'${k}'`).join(', ')}.`)
  return steps
}

/** `restora models`: what each model is and which options it takes. */
export function describeModels(catalogue: CatalogueModel[]): string {
  return catalogue
    .map((m) => {
      const options = Object.entries(optionProperties(m)).map(([key, p]) => {
        const values = p.enum ? `=${p.enum.join('|')}` : p.type ? `:${p.type}` : ''
        return `${key}${values}${p.default !== undefined ? ` (default ${String(p.default)})` : ''}`
      })
      const { scales, mask, detect } = m.capabilities
      const can = [scales.some((s) => s !== 1) ? `x${scales.join(', x')}` : '', mask ? 'mask' : '', detect ? 'detect' : ''].filter(Boolean)
      const head = `${m.task.padEnd(12)} ${m.id.padEnd(24)} ${m.available ? '' : '(not ready) '}${m.title}${can.length ? ` [${can.join(', ')}]` : ''}`
      return options.length ? `${head}\n${' '.repeat(38)}options: ${options.join(', ')}` : head
    })
    .join('\n')
}
