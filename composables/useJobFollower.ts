import type { JobView } from '~~/contracts/api'
import { isUnfinished } from '~~/contracts/job-progress'
import { sizeSuffix } from '~~/contracts/service'
import type { PageSession } from './usePageSession'

/** The job on screen: followed as the server streams its progress, cancelled, its result taken as the next input. */
export function useJobFollower(session: PageSession) {
  const { $trpc } = useNuxtApp()
  const job = ref<JobView | null>(null)
  const reusing = ref(false)
  let unsubscribe: (() => void) | undefined

  function follow(id: string) {
    unsubscribe?.()
    const subscription = $trpc.jobs.progress.subscribe(
      { id },
      {
        onData(latest) {
          job.value = latest
          if (latest.status === 'failed') session.problem = friendlyJobError(latest)
        },
        onError: session.report,
      },
    )
    unsubscribe = () => subscription.unsubscribe()
  }

  /** Shows a job: its progress while it runs, its result or what went wrong once it ended. */
  function show(shown: JobView) {
    job.value = shown
    if (isUnfinished(shown.status)) follow(shown.id)
    else if (shown.status === 'failed') session.problem = friendlyJobError(shown)
  }

  async function open(id: string) {
    const opened = await session.guard(() => $trpc.jobs.get.query({ id }))
    if (opened) show(opened)
  }

  function clear() {
    unsubscribe?.()
    unsubscribe = undefined
    job.value = null
  }

  async function cancel() {
    const id = job.value?.id
    if (!id) return
    const cancelled = await session.guard(() => $trpc.jobs.cancel.mutate({ id }))
    if (cancelled) job.value = cancelled
  }

  /** Chains another run on the result: it becomes the photo (named after the steps), ready for the next task. */
  async function reuseResult(use: (file: File) => void) {
    const current = job.value
    if (!current) return
    reusing.value = true
    try {
      const response = await fetch(`/api/jobs/${current.id}/result`)
      if (response.status === 401) return void signInAgain()
      if (!response.ok) throw new Error(`The result could not be loaded (HTTP ${response.status}).`)
      const stem = current.inputName.replace(/\.[^.]+$/, '')
      const suffix = current.steps.map((s) => sizeSuffix(s.spec.options) || s.spec.task).join('-')
      use(new File([await response.blob()], `${stem}-${suffix}.png`, { type: 'image/png' }))
    } catch (error) {
      session.report(error)
    } finally {
      reusing.value = false
    }
  }

  onBeforeUnmount(() => unsubscribe?.())

  return reactive({ job, reusing, running: computed(() => job.value !== null && isUnfinished(job.value.status)), show, open, clear, cancel, reuseResult })
}
