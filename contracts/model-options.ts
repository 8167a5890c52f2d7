import { z } from 'zod'
import type { ModelInfo, StepOptions } from './service'

/**
 * Checks a step's options against the model's declared schema (a JSON Schema in its ModelInfo), the
 * same way in the orchestrator, the pages and the CLI, with messages people can act on.
 */

type PropertySchema = { enum?: unknown[]; type?: string; minimum?: number; maximum?: number; default?: unknown; description?: string }

/** The declared options of a model: name -> its JSON Schema. */
export const optionProperties = (info: Pick<ModelInfo, 'options'>) => (info.options.properties ?? {}) as Record<string, PropertySchema>

const compiled = new WeakMap<object, z.ZodType>()
function schemaOf(info: Pick<ModelInfo, 'options'>): z.ZodType {
  let schema = compiled.get(info.options)
  if (!schema) compiled.set(info.options, (schema = z.fromJSONSchema(info.options as Parameters<typeof z.fromJSONSchema>[0])))
  return schema
}

const list = (values: unknown[]) => values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')

/** The options with every default filled in, or why they do not fit the model. */
export function checkStepOptions(
  info: Pick<ModelInfo, 'title' | 'options' | 'capabilities'>,
  options: StepOptions,
): { ok: true; options: Record<string, unknown> } | { ok: false; problem: string } {
  const properties = optionProperties(info)
  const given = { ...options }
  // `scale` is the one option every step has in effect: a model without it keeps the size (x1).
  if (!('scale' in properties) && 'scale' in given) {
    if (given.scale !== 1) return { ok: false, problem: `${info.title} runs at x${info.capabilities.scales.join(', x')}, not x${given.scale}.` }
    delete given.scale
  }
  const parsed = schemaOf(info).safeParse(given)
  if (parsed.success) return { ok: true, options: parsed.data as Record<string, unknown> }
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(properties)
      return `${info.title} has no option ${list(issue.keys)}; ${known.length ? `it takes ${list(known)}` : 'it takes none'}.`
    }
    const key = String(issue.path[0] ?? '')
    const property = properties[key]
    if (key === 'scale' && property?.enum) return `${info.title} runs at x${property.enum.join(', x')}, not x${String(given.scale)}.`
    if (property?.enum) return `${info.title}: ${key} is one of ${list(property.enum)}, not ${JSON.stringify(given[key])}.`
    return `${info.title}: ${key ? `${key}: ` : ''}${issue.message}.`
  })
  return { ok: false, problem: problems.join(' ') }
}
