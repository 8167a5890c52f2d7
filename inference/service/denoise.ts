import { SERVICE_ADAPTERS } from '../models/registry'
import { startService } from './start'

await startService('denoise', SERVICE_ADAPTERS.denoise, 8102)
