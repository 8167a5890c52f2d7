import { httpLink as fetchHttpLink, httpSubscriptionLink, isNonJsonSerializable, splitLink } from '@trpc/client'
import { createTRPCNuxtClient, httpBatchLink } from 'trpc-nuxt/client'
import type { AppRouter } from '~~/server/trpc/routers'

export default defineNuxtPlugin(() => {
  const url = '/api/trpc'
  const trpc = createTRPCNuxtClient<AppRouter>({
    links: [
      splitLink({
        // Progress streams as server-sent events.
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url }),
        // Uploads (FormData) go unbatched as multipart, through XHR so the page can show bytes sent;
        // other mutations go one per request too (the server refuses batched mutations); queries
        // are batched JSON, at most as many as the server takes (MAX_BATCH_CALLS, 10 by default).
        false: splitLink({
          condition: (op) => op.type === 'mutation' || isNonJsonSerializable(op.input),
          true: fetchHttpLink({ url, fetch: fetchWithUploadProgress }),
          false: httpBatchLink({ url, maxItems: 10 }),
        }),
      }),
    ],
  })
  return { provide: { trpc } }
})
