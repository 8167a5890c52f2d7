import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, isNonJsonSerializable, splitLink } from '@trpc/client'
import type { AppRouter } from '../server/trpc/routers'

/**
 * The same typed tRPC client the pages use, for Node: the session lives in cookies, so this keeps
 * a small jar and replays it on every call (sign-in sets it, refreshes update it).
 */
export function createApiClient(baseUrl: string) {
  const jar = new Map<string, string>()
  const cookieFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers)
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
    const response = await fetch(input, { ...init, headers })
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name)
      else jar.set(name, value)
    }
    return response
  }
  const url = new URL('/api/trpc', baseUrl).toString()
  const api = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // The CLI polls jobs.get instead: Node has no EventSource to carry the cookies.
        true: httpSubscriptionLink({ url }),
        // Uploads and other mutations go one per request (the server refuses batched mutations).
        false: splitLink({
          condition: (op) => op.type === 'mutation' || isNonJsonSerializable(op.input),
          true: httpLink({ url, fetch: cookieFetch }),
          false: httpBatchLink({ url, fetch: cookieFetch, maxItems: 10 }),
        }),
      }),
    ],
  })
  /** GETs a server path (e.g. a job's result) with the session cookies. */
  const download = (path: string) => cookieFetch(new URL(path, baseUrl))
  return { api, download }
}

export type ApiClient = ReturnType<typeof createApiClient>['api']
