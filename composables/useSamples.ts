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
  // A task whose service is busy right now (listed, not ready) still gets its sample: the job waits in the queue.
  const offered = computed(() => SAMPLES.filter((s) => deps.pipeline.tasks.some((t) => t.task === s.task && t.models.length > 0)))

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
      if (await until(deps.canStart, 10_000)) await deps.start()
    } finally {
      loading.value = null
    }
  }

  return reactive({ offered, loading, trySample })
}

/** Resolves true once `condition` holds (watched, not polled), false after `ms`. */
function until(condition: () => boolean, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), ms)
    const stop = watch(condition, (holds) => holds && finish(true), { immediate: true })
    function finish(holds: boolean) {
      clearTimeout(timer)
      queueMicrotask(() => stop())
      resolve(holds)
    }
  })
}
