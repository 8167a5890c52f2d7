import { esrganAdapters } from '../models/esrgan'
import { startService } from './start'

await startService('upscale', esrganAdapters, 8101)
