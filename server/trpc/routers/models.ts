import { ModelsList } from '../../../contracts/api'
import { ServiceInfo } from '../../../contracts/service'
import { protectedProcedure, router } from '../init'

/**
 * Asks each configured service what it offers, and whether it is ready (`withReadiness`; the
 * studio's list shows it, a size check does not need it); a service that does not answer is left out.
 */
export async function fetchCatalogue(replicas: Record<string, string[]>, withReadiness = true) {
  const answers = await Promise.all(
    Object.entries(replicas).flatMap(([, urls]) =>
      urls.slice(0, 1).map(async (url) => {
        try {
          const [info, ready] = await Promise.all([
            fetch(new URL('/v1/info', url), { signal: AbortSignal.timeout(3000) }).then(async (r) => ServiceInfo.parse(await r.json())),
            withReadiness ? fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(3000) }).then((r) => r.ok) : true,
          ])
          return { url, info, ready }
        } catch {
          return null
        }
      }),
    ),
  )
  return answers.filter((a): a is NonNullable<typeof a> => a !== null)
}

/**
 * What each service last said it offers, by task: a service busy with a long tile run (or
 * restarting) can miss the 3 s deadline, and its task would vanish from the studio, with the
 * controls it set, until it answers again. Its models stay listed, marked unavailable.
 */
const lastKnown = new Map<string, ServiceInfo>() // by service URL

export const modelsRouter = router({
  list: protectedProcedure.output(ModelsList).query(async ({ ctx }) => {
    const catalogue = await fetchCatalogue(ctx.app.config.services)
    for (const { url, info } of catalogue) lastKnown.set(url, info)
    const answered = new Set(catalogue.map(({ url }) => url))
    const asked = Object.values(ctx.app.config.services).flatMap((urls) => urls.slice(0, 1))
    const silent = asked.filter((url) => !answered.has(url) && lastKnown.has(url)).map((url) => lastKnown.get(url)!)
    return {
      models: [
        ...catalogue.flatMap(({ info, ready }) => info.models.map((m) => ({ ...m, available: ready }))),
        ...silent.flatMap((info) => info.models.map((m) => ({ ...m, available: false }))),
      ],
      limits: ctx.app.config.limits,
    }
  }),
})
