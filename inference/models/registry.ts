import type { ModelAdapter } from './adapter'
import { esrganAdapters } from './esrgan'
import { maximDenoising, maximEnhancers } from './maxim'
import { textRemovalClassic } from './text-removal'

/**
 * The models each inference service runs (its entry in inference/service/ starts exactly these);
 * container images bake only their own service's models.
 */
export const SERVICE_ADAPTERS = {
  upscale: esrganAdapters,
  denoise: [maximDenoising],
  enhance: maximEnhancers,
  // LaMa and MI-GAN join at start when their weights are in the models folder (inference/service/remove-text.ts).
  'remove-text': [textRemovalClassic],
} satisfies Record<string, ModelAdapter[]>

/** Every model adapter, for tools that need all of them (conversion at install, docs). */
export const allAdapters: ModelAdapter[] = Object.values(SERVICE_ADAPTERS).flat()
