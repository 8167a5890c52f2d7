import { ModelsList } from '../../../contracts/api'
import { ServiceInfo } from '../../../contracts/service'
import { protectedProcedure, router } from '../init'

/** Asks each configured service what it offers; a service that does not answer is listed as unavailable. */
export async function fetchCatalogue(replicas: Record<string, string[]>) {
  const answers = await Promise.all(
    Object.entries(replicas).flatMap(([, urls]) =>
      urls.slice(0, 1).map(async (url) => {
        try {
          const [info, ready] = await Promise.all([
            fetch(new URL('/v1/info', url), { signal: AbortSignal.timeout(3000) }).then(async (r) => ServiceInfo.parse(await r.json())),
            fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(3000) }).then((r) => r.ok),
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
