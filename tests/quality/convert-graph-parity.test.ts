import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { packageDir } from '../../inference/runtime/model-paths'
import { convertGraphModel, loadGraphModel } from '../../inference/convert/tfjs-graph-to-onnx'
import { graphModelPackages } from '../../inference/models/maxim'
import { hwcToChw } from '../helpers/images'
import { readReference, REFERENCE_SIZE, referenceInput, weightsHash } from '../helpers/tfjs-references'

const SIZE = REFERENCE_SIZE
const plane = SIZE * SIZE
const toByte = (v: number) => Math.min(255, Math.max(0, v * 255))

/** Converts a package's graph at the reference size and runs it on the reference input, once per package and fusion setting. */
const runs = new Map<string, Promise<{ chw: Float32Array; stats: ReturnType<typeof convertGraphModel>['stats'] }>>()
function runConverted(npmPackage: string, nhwc: Float32Array, fuse: boolean) {
  const key = `${npmPackage} ${fuse}`
  if (!runs.has(key))
    runs.set(
      key,
      (async () => {
        const graph = await loadGraphModel(join(packageDir(npmPackage), 'models/model.json'))
        const { bytes, stats } = convertGraphModel(graph, { inputShape: [1, SIZE, SIZE, 3], fuse })
        const session = await ort.InferenceSession.create(bytes)
        const out = await session.run({ input: new ort.Tensor('float32', hwcToChw(nhwc, plane), [1, 3, SIZE, SIZE]) })
        await session.release()
        expect(out.output!.dims).toEqual([1, 3, SIZE, SIZE])
        return { chw: out.output!.data as Float32Array, stats }
      })(),
    )
  return runs.get(key)!
}

/** Largest difference on the 0..255 scale the service writes, after the same clamp; `nhwc` is the reference's layout. */
function maxDifference(chw: Float32Array, nhwc: Float32Array) {
  let max = 0
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(toByte(chw[c * plane + p]!) - toByte(nhwc[p * 3 + c]!)))
  return max
}

describe.each(graphModelPackages())('%s converted from a TF.js graph model to ONNX', (npmPackage) => {
  it(`matches UpscalerJS's TF.js output (recorded, pinned to the weights' sha256) on a noisy ${SIZE}x${SIZE} crop of a real photo within 2/255`, {
    timeout: 900_000,
  }, async () => {
    const reference = await readReference(npmPackage)
    expect(reference, `no recorded TF.js output for ${npmPackage}: run npx tsx scripts/record-tfjs-references.ts ${npmPackage}`).not.toBeNull()
    expect(reference!.weightsSha256, `${npmPackage}'s weights changed since its TF.js output was recorded: record it again`).toBe(await weightsHash(npmPackage))
    const input = await referenceInput()
    expect(reference!.input).toBe(input.recipe)

    const fused = await runConverted(npmPackage, input.nhwc, true)
    const maxDiff = maxDifference(fused.chw, reference!.values)
    let moved = 0
    for (let i = 0; i < reference!.values.length; i++) moved += Math.abs(toByte(reference!.values[i]!) - input.pixels.data[i]!)
    console.log(
      `${npmPackage}: ${fused.stats.tfNodes} TF nodes -> ${fused.stats.onnxNodes} ONNX nodes (fused ${JSON.stringify(fused.stats.fused)}); max |ONNX - TF.js| = ${maxDiff.toFixed(4)}/255; TF.js ${reference!.backend} took ${reference!.seconds.toFixed(0)} s`,
    )
    expect(maxDiff).toBeLessThanOrEqual(2)
    // Guard against a vacuous pass: the model must actually change its input.
    expect(moved / reference!.values.length).toBeGreaterThan(1)
  })
})

// The fusions are checked against TF.js above already; this pins them tighter on one model of each size (MAXIM-3S, -2S).
describe.each(['@upscalerjs/maxim-denoising', '@upscalerjs/maxim-dehazing-outdoor'])('%s', (npmPackage) => {
  it('gives the same output with and without the fusions (LayerNorm, GELU, dense layers over an inner axis)', { timeout: 900_000 }, async () => {
    const input = await referenceInput()
    const fused = await runConverted(npmPackage, input.nhwc, true)
    const plain = await runConverted(npmPackage, input.nhwc, false)
    expect(fused.stats.fused!.layerNorm).toBeGreaterThan(0)
    expect(fused.stats.onnxNodes).toBeLessThan(plain.stats.onnxNodes / 1.5)
    let max = 0
    for (let i = 0; i < fused.chw.length; i++) max = Math.max(max, Math.abs(fused.chw[i]! - plain.chw[i]!))
    expect(max * 255).toBeLessThan(0.05)
  })
})
