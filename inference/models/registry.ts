import type { ModelAdapter } from './adapter'
import { esrganMedium } from './esrgan'
import { maximDenoising } from './maxim'

/** Every model adapter the services can run, for tools that need all of them (conversion, docs). */
export const allAdapters: ModelAdapter[] = [esrganMedium, maximDenoising]
