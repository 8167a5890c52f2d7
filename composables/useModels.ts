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
/** Where the last list is kept for this tab: a reload shows the controls at once, then refreshes them. */
const CACHE_KEY = 'restora.catalogue'

function cached(): ModelsList | null {
  try {
    const text = typeof sessionStorage === 'undefined' ? null : sessionStorage.getItem(CACHE_KEY)
    return text ? (JSON.parse(text) as ModelsList) : null
  } catch {
    return null
  }
}

export function useModels(session: PageSession, wanting: () => boolean) {
  const { $trpc } = useNuxtApp()
  const catalogue = ref<ModelsList | null>(cached())
  /** Whether the list on screen is the tab's cached one, not yet confirmed by the services. */
  const refreshing = ref(catalogue.value !== null)
  let retry: ReturnType<typeof setTimeout> | undefined
  let missingTries = 0
  let stopped = false

  async function load() {
    clearTimeout(retry)
    const latest = (await session.guard(() => $trpc.models.list.query())) ?? null
    if (stopped) return
    if (latest) {
      catalogue.value = latest
      refreshing.value = false
      try {
        sessionStorage.setItem(CACHE_KEY, JSON.stringify(latest))
      } catch {
        // Storage full or blocked: the next reload waits for the list instead.
      }
    }
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
    refreshing,
    /** No list yet (first visit in this tab): the page shows a placeholder of the controls. */
    loading: computed(() => catalogue.value === null),
    models: computed(() => catalogue.value?.models ?? []),
    limits: computed(() => catalogue.value?.limits ?? null),
    nothingRuns: computed(() => catalogue.value !== null && catalogue.value.models.length === 0),
    load,
  })
}
