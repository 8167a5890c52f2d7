import { httpLink as fetchHttpLink, isNonJsonSerializable, splitLink } from '@trpc/client'
import { createTRPCNuxtClient, httpBatchLink } from 'trpc-nuxt/client'
import type { AppRouter } from '~~/server/trpc/routers'

export default defineNuxtPlugin(() => {
  const url = '/api/trpc'
  const trpc = createTRPCNuxtClient<AppRouter>({
    links: [
      // Uploads (FormData) go unbatched as multipart; everything else is batched JSON.
      splitLink({ condition: (op) => isNonJsonSerializable(op.input), true: fetchHttpLink({ url }), false: httpBatchLink({ url }) }),
    ],
  })
  return { provide: { trpc } }
})
