import { createLogger } from '../../lib/log'
import { SERVICE_ADAPTERS } from '../models/registry'
import { learnedAdapters } from '../models/text-removal'
import { startService } from './start'

// LaMa and MI-GAN are offered only when their weights are in the models folder (no npm package ships
// them) and load with the inputs they should have; a file that does not is refused, not fatal.
const { offered, refused } = await learnedAdapters()
for (const reason of refused) createLogger('remove-text').warn(reason)
await startService('remove-text', [...SERVICE_ADAPTERS['remove-text'], ...offered], 8103)
