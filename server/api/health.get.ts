import { defineEventHandler, setResponseStatus } from 'h3'
import { useApp } from '../app'

/** Ready when the orchestrator runs and every configured service has its models loaded. */
export default defineEventHandler(async (event) => {
  const { services } = useApp().config
  const checks = await Promise.all(
    Object.entries(services).flatMap(([task, urls]) =>
      urls.map(async (url) => ({
        task,
        url,
        ready: await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.ok,
          () => false,
        ),
      })),
    ),
  )
  const ready = checks.every((c) => c.ready)
  if (!ready) setResponseStatus(event, 503)
  return { ready, services: checks }
})
