import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { convertNcnnModel, ncnnFiles } from './ncnn-to-onnx'
import { convertGraphModel, loadGraphModel } from './tfjs-graph-to-onnx'
import { convertLayersModel, loadLayersModel } from './tfjs-layers-to-onnx'

/**
 * How each format of shipped weights becomes ONNX. A new format (ncnn was the latest) is one converter
 * file plus one row here: which files make up a model (the cache hashes all of them) and how they
 * convert.
 */
export interface Converter {
  /** Every file the model at `entry` is made of, entry first: a change to any of them redoes the conversion. */
  sourceFiles(entry: string): Promise<string[]>
  convert(entry: string, settings: ConvertSettings): Promise<Uint8Array>
}

export interface ConvertSettings {
  /** Graph formats only: the [height, width] the graph is specialised to, so its shape arithmetic folds away. */
  inputSize?: [number, number]
  /** Written into the ONNX file: where it came from. */
  docString: string
}

/** TF.js model.json and the weight shards its manifest names. */
async function tfjsFiles(entry: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(entry, 'utf8')) as { weightsManifest?: { paths: string[] }[] }
  return [entry, ...(manifest.weightsManifest ?? []).flatMap((group) => group.paths.map((p) => join(dirname(entry), p)))]
}

export const CONVERTERS = {
  'tfjs-layers': {
    sourceFiles: tfjsFiles,
    convert: async (entry, { docString }) => convertLayersModel(await loadLayersModel(entry), { docString }),
  },
  'tfjs-graph': {
    sourceFiles: tfjsFiles,
    async convert(entry, { inputSize, docString }) {
      if (!inputSize) throw new Error(`${entry}: a tfjs-graph model needs an inputSize`)
      const [height, width] = inputSize
      return convertGraphModel(await loadGraphModel(entry), { inputShape: [1, height, width, 3], docString }).bytes
    },
  },
  ncnn: {
    sourceFiles: ncnnFiles,
    async convert(entry, { docString }) {
      const [param, bin] = await ncnnFiles(entry)
      return convertNcnnModel(param!, bin!, { docString })
    },
  },
} satisfies Record<string, Converter>

export type ConvertFormat = keyof typeof CONVERTERS
