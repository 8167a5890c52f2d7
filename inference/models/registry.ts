import type { ModelAdapter } from './adapter'
import { esrganAdapters } from './esrgan'
import { textRemovalClassic } from './text-removal'

/** Every model adapter the services can run, for tools that need all of them (conversion, docs). */
export const allAdapters: ModelAdapter[] = [...esrganAdapters, textRemovalClassic]
