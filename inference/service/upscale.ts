import { esrganMedium } from '../models/esrgan'
import { startService } from './start'

await startService('upscale', [esrganMedium], 8101)
