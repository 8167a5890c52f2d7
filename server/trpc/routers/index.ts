import { router } from '../init'
import { authRouter } from './auth'
import { jobsRouter } from './jobs'
import { modelsRouter } from './models'

export const appRouter = router({ auth: authRouter, models: modelsRouter, jobs: jobsRouter })
export type AppRouter = typeof appRouter
