import { randomUUID } from 'node:crypto'
import { getRequestIP } from 'h3'
import { createTRPCNuxtHandler } from 'trpc-nuxt/server'
import { useApp } from '../../app'
import { cookieSession } from '../../auth/session-cookies'
import { appRouter } from '../../trpc/routers'

export default createTRPCNuxtHandler({
  endpoint: '/api/trpc',
  router: appRouter,
  createContext: (event, { req, resHeaders }) => ({
    app: useApp(),
    session: cookieSession(req.headers.get('cookie'), resHeaders, req.url),
    requestId: req.headers.get('x-request-id') ?? randomUUID(),
    clientIp: req.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || getRequestIP(event) || 'unknown',
  }),
  onError({ error, path }) {
    if (error.code === 'INTERNAL_SERVER_ERROR') useApp().logger.error({ err: error.cause ?? error, path }, 'tRPC procedure failed')
  },
})
