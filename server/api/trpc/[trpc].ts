import { randomUUID } from 'node:crypto'
import { createError, defineEventHandler, getRequestIP } from 'h3'
import { createTRPCNuxtHandler } from 'trpc-nuxt/server'
import { useApp } from '../../app'
import { cookieSession } from '../../auth/session-cookies'
import { clientAddress } from '../../http/client-address'
import { appRouter } from '../../trpc/routers'

const createHandler = () =>
  createTRPCNuxtHandler({
    endpoint: '/api/trpc',
    router: appRouter,
    // Queries may be batched (a page loads several at once); every call still counts against its limits.
    maxBatchSize: useApp().config.maxBatchCalls,
    createContext: (event, { req, resHeaders }) => ({
      app: useApp(),
      session: cookieSession(req.headers.get('cookie'), resHeaders, req.url),
      requestId: req.headers.get('x-request-id') ?? randomUUID(),
      clientIp: clientAddress(req.headers.get('x-forwarded-for'), getRequestIP(event), useApp().config.trustedProxyHops),
    }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') useApp().logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed')
    },
  })
let handler: ReturnType<typeof createHandler> | undefined

export default defineEventHandler((event) => {
  // Mutations go one per request: a WAF counts requests, and a batch of 200 sign-ins would be one.
  const procedures = event.path.split('?')[0]!.replace(/^.*\/api\/trpc\/?/, '')
  if (event.method === 'POST' && /,|%2c/i.test(procedures))
    throw createError({ statusCode: 400, statusMessage: 'Mutations cannot be batched: send one per request.' })
  handler ??= createHandler()
  return handler(event)
})
