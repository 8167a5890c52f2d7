import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { sourceHash } from '../../inference/convert/cache'
import { packageDir } from '../../inference/runtime/model-paths'
import { addGaussianNoise, loadRgb } from './images'

/**
 * TF.js outputs of the MAXIM graph models, recorded by scripts/record-tfjs-references.ts. TF.js's
 * cpu backend needs tens of minutes for one 43k-node MAXIM graph even at 64x64 (its Einsum builds
 * the full broadcast product), too long to rerun in every test run; the recording is pinned to the
 * sha256 of the weights it was made from, so a changed package fails the parity test until it is
 * recorded again.
 */
export interface TfjsReference {
  npmPackage: string
  weightsSha256: string
  tfjsVersion: string
  backend: string
  seconds: number
  size: number
  /** How the input was made (referenceInput), for the record. */
  input: string
  /** NHWC float32 output in 0..1, base64. */
  output: string
}

export const REFERENCE_SIZE = 64
const DIR = resolve(import.meta.dirname, '../fixtures/tfjs-references')

export const referencePath = (npmPackage: string) => join(DIR, `${npmPackage.replace(/^@upscalerjs\//, '')}-${REFERENCE_SIZE}.json`)

/** The input every reference is recorded on: a 64x64 crop of a real photo with Gaussian noise (sigma 25, seed 7), NHWC in 0..1. */
export async function referenceInput() {
  const crop = addGaussianNoise(await loadRgb('astronaut.png', { left: 160, top: 60, width: REFERENCE_SIZE, height: REFERENCE_SIZE }), 25, 7)
  return {
    pixels: crop,
    nhwc: Float32Array.from(crop.data, (v) => v / 255),
    recipe: 'astronaut.png crop 64x64 at (160,60), Gaussian noise sigma 25 seed 7, /255, NHWC',
  }
}

export const weightsHash = (npmPackage: string) => sourceHash({ format: 'tfjs-graph' }, join(packageDir(npmPackage), 'models/model.json'))

export async function readReference(npmPackage: string): Promise<(TfjsReference & { values: Float32Array }) | null> {
  const path = referencePath(npmPackage)
  if (!existsSync(path)) return null
  const reference = JSON.parse(await readFile(path, 'utf8')) as TfjsReference
  const bytes = Buffer.from(reference.output, 'base64')
  return { ...reference, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) }
}

export async function writeReference(reference: TfjsReference): Promise<string> {
  const path = referencePath(reference.npmPackage)
  await mkdir(DIR, { recursive: true })
  await writeFile(path, JSON.stringify(reference, null, 1) + '\n')
  return path
}
