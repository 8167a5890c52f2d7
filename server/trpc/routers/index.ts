import { router } from '../init'
import { authRouter } from './auth'
import { jobsRouter, textRouter } from './jobs'
import { modelsRouter } from './models'

export const appRouter = router({ auth: authRouter, models: modelsRouter, jobs: jobsRouter, text: textRouter })
export type AppRouter = typeof appRouter
