import type { ModelsList } from '~~/contracts/api'
import { MODEL_TASKS } from '~~/contracts/tasks'
import type { PageSession } from './usePageSession'

const RETRY_MS = 4000
/** How often to ask again for a task no service lists (it may be starting, or not deployed at all): a minute. */
const MISSING_RETRIES = 15

/**
 * The models the services offer, and the limits. A service busy with a long run may miss the
 * catalogue's short deadline: while a task the person chose has no model available (`wanting`),
 * or for a minute while some task has none, ask again every few seconds instead of leaving an
 * empty choice.
 */
export function useModels(session: PageSession, wanting: () => boolean) {
  const { $trpc } = useNuxtApp()
  const catalogue = ref<ModelsList | null>(null)
  let retry: ReturnType<typeof setTimeout> | undefined
  let missingTries = 0
  let stopped = false

  async function load() {
    clearTimeout(retry)
    const latest = (await session.guard(() => $trpc.models.list.query())) ?? null
    if (stopped) return
    if (latest) catalogue.value = latest
    const missing = !latest || MODEL_TASKS.some((task) => !latest.models.some((m) => m.task === task && m.available))
    missingTries = missing ? missingTries + 1 : 0
    if (!latest || wanting() || (missing && missingTries <= MISSING_RETRIES)) retry = setTimeout(() => void load(), RETRY_MS)
  }

  onBeforeUnmount(() => {
    stopped = true
    clearTimeout(retry)
  })

  return reactive({
    catalogue,
    models: computed(() => catalogue.value?.models ?? []),
    limits: computed(() => catalogue.value?.limits ?? null),
    nothingRuns: computed(() => catalogue.value !== null && catalogue.value.models.length === 0),
    load,
  })
}
