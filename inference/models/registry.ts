import type { ModelTask } from '../../contracts/tasks'
import type { ModelAdapter } from './adapter'
import { esrganAdapters } from './esrgan'
import { maximDenoising, maximEnhancers } from './maxim'
import { learnedTextRemovals, textRemovalClassic } from './text-removal'

/**
 * The models each task's service runs (inference/service/main.ts <task> starts exactly these);
 * container images bake only their own task's models. A model whose user file is missing or
 * refused is left out at start, with its reason in the log.
 */
export const TASK_MODELS: Record<ModelTask, ModelAdapter[]> = {
  upscale: esrganAdapters,
  denoise: [maximDenoising],
  enhance: maximEnhancers,
  'remove-text': [textRemovalClassic, ...learnedTextRemovals],
}

/** Every model adapter, for tools that need all of them (conversion at install, docs). */
export const allAdapters: ModelAdapter[] = Object.values(TASK_MODELS).flat()

export const findAdapter = (id: string) => allAdapters.find((adapter) => adapter.info.id === id)
