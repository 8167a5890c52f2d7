import { maximDenoising } from '../models/maxim'
import { startService } from './start'

await startService('denoise', [maximDenoising], 8102)
