import type { ModelTask } from '~~/contracts/tasks'
import type { PhotoInput } from './usePhotoInput'
import type { Pipeline } from './usePipeline'

/** A photo that ships with the studio (public/samples/, made by scripts/make-samples.ts) and the task it shows off. */
export interface Sample {
  task: ModelTask
  file: string
  label: string
  /** Settings the sample runs with (a scale for upscaling). */
  scale?: number
}

export const SAMPLES: readonly Sample[] = [
  { task: 'upscale', file: 'small-portrait.jpg', label: 'Upscale a 192 px portrait ×4', scale: 4 },
  { task: 'denoise', file: 'noisy-cat.jpg', label: 'Denoise a grainy photo' },
  { task: 'remove-text', file: 'captioned-coffee.jpg', label: 'Remove a caption' },
]

/**
 * One click per task for a first visit: the task alone is chosen, the sample becomes the photo and,
 * once its size is known (the limits are checked on it like on any photo), the job starts.
 */
export function useSamples(deps: { pipeline: Pipeline; photo: PhotoInput; canStart: () => boolean; start: () => Promise<void> }) {
  const loading = ref<string | null>(null)
  const offered = computed(() => SAMPLES.filter((s) => deps.pipeline.tasks.some((t) => t.task === s.task && t.offered.length > 0)))

  async function trySample(sample: Sample) {
    loading.value = sample.file
    try {
      for (const view of deps.pipeline.tasks) {
        view.choice.on = view.task === sample.task
        if (view.task === sample.task && sample.scale && view.scales.includes(sample.scale)) {
          view.choice.scale = sample.scale
          view.choice.width = null
          view.choice.twice = false
        }
      }
      const response = await fetch(`/samples/${sample.file}`)
      if (!response.ok) throw new Error(`The sample could not be loaded (HTTP ${response.status}).`)
      deps.photo.pick([new File([await response.blob()], sample.file, { type: 'image/jpeg' })])
      // The preview reports the size; the start button waits for it like for any photo.
      const deadline = Date.now() + 10_000
      while (!deps.canStart() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      if (deps.canStart()) await deps.start()
    } finally {
      loading.value = null
    }
  }

  return reactive({ offered, loading, trySample })
}
