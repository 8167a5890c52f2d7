import { SERVICE_ADAPTERS } from '../models/registry'
import { lamaAvailable, textRemovalLama } from '../models/text-removal'
import { startService } from './start'

// LaMa is offered only when its weights are in the models folder (no npm package ships them).
await startService('remove-text', [...SERVICE_ADAPTERS['remove-text'], ...(lamaAvailable() ? [textRemovalLama] : [])], 8103)
