import { config } from 'zod'

/**
 * Zod compiles object parsers with `new Function` unless told not to, and probes for it once: under
 * the CSP (no 'unsafe-eval') that probe is a reported violation on every page. Jitless parsing is
 * plenty fast for the few forms the browser checks. Set when this module loads, not in the plugin:
 * the router loads the first page, whose schemas are built on import, before app plugins run.
 */
config({ jitless: true })

export default defineNuxtPlugin(() => {})
