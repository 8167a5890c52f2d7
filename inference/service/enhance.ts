import { SERVICE_ADAPTERS } from '../models/registry'
import { startService } from './start'

await startService('enhance', SERVICE_ADAPTERS.enhance, 8104)
