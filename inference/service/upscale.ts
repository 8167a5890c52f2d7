import { SERVICE_ADAPTERS } from '../models/registry'
import { startService } from './start'

await startService('upscale', SERVICE_ADAPTERS.upscale, 8101)
