import { randomUUID } from 'node:crypto'
import { createTRPCNuxtHandler } from 'trpc-nuxt/server'
import { useApp } from '../../app'
import { cookieSession } from '../../auth/session-cookies'
import { appRouter } from '../../trpc/routers'

export default createTRPCNuxtHandler({
  endpoint: '/api/trpc',
  router: appRouter,
  createContext: (_event, { req, resHeaders }) => ({
    app: useApp(),
    session: cookieSession(req.headers.get('cookie'), resHeaders, req.url),
    requestId: req.headers.get('x-request-id') ?? randomUUID(),
  }),
  onError({ error, path }) {
    if (error.code === 'INTERNAL_SERVER_ERROR') useApp().logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed')
  },
})
