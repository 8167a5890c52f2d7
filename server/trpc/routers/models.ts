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
          return { info, ready }
        } catch {
          return null
        }
      }),
    ),
  )
  return answers.filter((a): a is NonNullable<typeof a> => a !== null)
}

export const modelsRouter = router({
  list: protectedProcedure.output(ModelsList).query(async ({ ctx }) => {
    const catalogue = await fetchCatalogue(ctx.app.config.services)
    return {
      models: catalogue.flatMap(({ info, ready }) => info.models.map((m) => ({ ...m, available: ready }))),
      limits: ctx.app.config.limits,
    }
  }),
})
