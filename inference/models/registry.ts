import type { ModelAdapter } from './adapter'
import { esrganAdapters } from './esrgan'

/** Every model adapter the services can run, for tools that need all of them (conversion, docs). */
export const allAdapters: ModelAdapter[] = [...esrganAdapters]
