import { stepTitle, type StepSpec } from '~~/contracts/api'
import { preferredScale } from '~~/contracts/job-progress'
import { optionProperties } from '~~/contracts/model-options'
import { MODEL_TASKS, TASKS, type ModelTask } from '~~/contracts/tasks'
import { buildStep, choosesByQuality, choosesMadeFor, firstChoice, forSource, optionFields, QUALITIES, resolveModel, runOrder, taskScales } from './taskChoice'
import type { CatalogueModel, OptionValue, TaskChoice } from './taskChoice'

/** A common job in one click: which tasks run, and their settings (a model, scale, source or quality), each optional. */
export interface Preset {
  id: string
  label: string
  description: string
  tasks: Partial<Record<ModelTask, Partial<Pick<TaskChoice, 'model' | 'scale' | 'madeFor' | 'quality'>>>>
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'old-scan',
    label: 'Old scan',
    description: 'Film grain and scanner noise out, then twice the size',
    tasks: { denoise: {}, upscale: { scale: 2, madeFor: 'photo', quality: 'balanced' } },
  },
  {
    id: 'night-photo',
    label: 'Night phone photo',
    description: 'Sensor noise out, then the dark parts brightened',
    tasks: { denoise: {}, enhance: { model: 'maxim-enhancement' } },
  },
  {
    id: 'captioned-screenshot',
    label: 'Captioned screenshot',
    description: 'The caption removed, then twice the size, drawn as a clean image',
    tasks: { 'remove-text': {}, upscale: { scale: 2, madeFor: 'clean', quality: 'balanced' } },
  },
]

/** What the chooser shows for one task, derived from its models and the person's choice. */
export interface TaskView {
  task: ModelTask
  title: string
  /** What the task does, in a line (contracts/tasks.ts). */
  summary: string
  choice: TaskChoice
  /** Its models listed now, and those of them whose service is ready. */
  models: CatalogueModel[]
  offered: CatalogueModel[]
  scales: number[]
  /** Whether the person picks a scale (some model changes the size). */
  scaleChoice: boolean
  /** Whether the chosen model also takes a target width instead of the scale. */
  takesWidth: boolean
  /** Whether the person says what the picture is (photo or clean image): the task's models are made for either. */
  madeForChoice: boolean
  byQuality: boolean
  qualities: { value: TaskChoice['quality']; label: string; disabled: boolean }[]
  /** The model that runs, if the choice can run now. */
  model: CatalogueModel | undefined
  fields: ReturnType<typeof optionFields>
}

/**
 * The pipeline the person chooses: one row per task the services offer, in the order the steps
 * run, each with its model, scale and options; `selected` is the job's steps as sent.
 */
export function usePipeline(models: () => CatalogueModel[]) {
  const choices = reactive<Partial<Record<ModelTask, TaskChoice>>>({})

  // New tasks get their first settings; a choice the catalogue no longer offers falls back.
  watch(
    models,
    (list) => {
      for (const task of MODEL_TASKS) {
        const ofTask = list.filter((m) => m.task === task)
        if (ofTask.length === 0) continue
        const choice = (choices[task] ??= firstChoice(ofTask))
        const scales = taskScales(ofTask)
        if (!scales.includes(choice.scale)) choice.scale = preferredScale(scales)
        const offered = ofTask.filter((m) => m.available)
        if (!offered.some((m) => m.id === choice.model)) choice.model = offered[0]?.id ?? ''
        choice.magnifies = ofTask.some((m) => m.capabilities.scales.some((s) => s > 1))
      }
    },
    { immediate: true },
  )

  const tasks = computed<TaskView[]>(() => {
    const shown = MODEL_TASKS.filter((task) => choices[task] && (choices[task].on || models().some((m) => m.task === task)))
    return runOrder(shown, (task) => choices[task]!.magnifies).map((task) => {
      const choice = choices[task]!
      const ofTask = models().filter((m) => m.task === task)
      const offered = ofTask.filter((m) => m.available)
      const scales = taskScales(ofTask)
      const scaleChoice = scales.some((s) => s !== 1)
      const model = resolveModel(ofTask, choice)
      const runsAt = (m: CatalogueModel) => !scaleChoice || m.capabilities.scales.includes(choice.scale)
      const ofSource = forSource(offered.length ? offered : ofTask, choice)
      const qualities = QUALITIES.map((q) => ({ ...q, disabled: !ofSource.some((m) => m.quality === q.value && runsAt(m)) }))
      const fields = model ? optionFields(model) : []
      const byQuality = choosesByQuality(ofTask)
      const takesWidth = scaleChoice && !!model && 'width' in optionProperties(model)
      const madeForChoice = choosesMadeFor(ofTask)
      return {
        task,
        title: TASKS[task].title,
        summary: TASKS[task].summary,
        choice,
        models: ofTask,
        offered,
        scales,
        scaleChoice,
        takesWidth,
        madeForChoice,
        byQuality,
        qualities,
        model,
        fields,
      }
    })
  })

  /** The chosen steps in the order they run, with their models; undefined while a chosen task cannot run. */
  const selected = computed(() => {
    const steps: StepSpec[] = []
    const used: CatalogueModel[] = []
    for (const view of tasks.value) {
      if (!view.choice.on) continue
      if (!view.model) return undefined
      const step = buildStep(view.model, view.choice)
      // Twice is ×scale² in two passes; a target width is reached in one.
      for (let pass = 0; pass < (view.scaleChoice && view.choice.twice && !step.options?.width ? 2 : 1); pass++) {
        steps.push(step)
        used.push(view.model)
      }
    }
    if (steps.length === 0) return undefined
    return { steps, models: used, label: steps.map(stepTitle).join(' + ') }
  })

  /** Sets the choices to what a job ran (opened from History, or reloaded): its tasks, models, scales and options. */
  function restore(steps: readonly StepSpec[]) {
    for (const task of MODEL_TASKS) {
      const choice = choices[task]
      if (!choice) continue
      const ofTask = steps.filter((step) => step.task === task)
      choice.on = ofTask.length > 0
      const step = ofTask[0]
      if (!step) continue
      const model = models().find((m) => m.id === step.model)
      choice.model = step.model
      if (model?.quality) choice.quality = model.quality
      if (model?.madeFor) choice.madeFor = model.madeFor
      const { scale, width, height: _height, maskMode: _maskMode, ...rest } = step.options ?? {}
      if (typeof scale === 'number') choice.scale = scale
      choice.width = typeof width === 'number' ? width : null
      choice.twice = ofTask.length > 1
      choice.options = Object.fromEntries(
        Object.entries(rest).filter((entry): entry is [string, OptionValue] => ['string', 'number', 'boolean'].includes(typeof entry[1])),
      )
    }
  }

  /** Applies a preset: its tasks on (with its settings where their models offer them), every other task off. */
  function applyPreset(preset: Preset) {
    for (const task of MODEL_TASKS) {
      const choice = choices[task]
      if (!choice) continue
      const wanted = preset.tasks[task]
      choice.on = wanted !== undefined
      if (!wanted) continue
      const ofTask = models().filter((m) => m.task === task)
      if (wanted.model && ofTask.some((m) => m.id === wanted.model)) choice.model = wanted.model
      if (wanted.scale && taskScales(ofTask).includes(wanted.scale)) choice.scale = wanted.scale
      if (wanted.madeFor) choice.madeFor = wanted.madeFor
      if (wanted.quality) choice.quality = wanted.quality
      choice.width = null
      choice.twice = false
    }
  }
  /** The presets whose every task some service lists. */
  const presets = computed(() => PRESETS.filter((p) => (Object.keys(p.tasks) as ModelTask[]).every((task) => models().some((m) => m.task === task))))

  return reactive({
    tasks,
    selected,
    restore,
    presets,
    applyPreset,
    /** Chosen tasks no ready service runs (the page says so and keeps asking). */
    waiting: computed(() => tasks.value.filter((view) => view.choice.on && view.offered.length === 0).map((view) => view.task)),
    /** The first chosen model that takes a mask: the page shows the mask editor for it. */
    maskModel: computed(() => tasks.value.find((view) => view.choice.on && view.model?.capabilities.mask)?.model),
  })
}

export type Pipeline = ReturnType<typeof usePipeline>
