import { defineNitroPlugin } from 'nitropack/runtime'
import { useApp } from '../app'

/** On start, settle jobs a previous process left unfinished so none stays "running" forever. */
export default defineNitroPlugin(() => {
  const app = useApp()
  app.runner
    .recover()
    .then((count) => count && app.logger.warn({ count }, 'settled jobs left unfinished by the previous process'))
    .catch((error) => app.logger.error({ err: error }, 'job recovery failed'))
})
