import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OnnxGraphBuilder } from '../../inference/convert/onnx-graph'

/**
 * Generated ONNX models with the real models' contracts, for tests of the plumbing around a model
 * (sessions, tiling, image I/O): milliseconds to build and run, no weights. Model quality: tests/quality.
 */

/** An x`scale` upscaler in ESRGAN's contract (float [1,3,H,W] in, [1,3,sH,sW] out): each pixel becomes a scale x scale block. */
export function upscaleStandIn(scale: number): Uint8Array {
  const g = new OnnxGraphBuilder()
  const roi = g.addInitializer('roi', [0], [])
  const scales = g.addInitializer('scales', [4], [1, 1, scale, scale])
  g.addNode('Resize', ['input', roi, scales], 'output', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' })
  const dims = (name: string) => [1, 3, `${name}_height`, `${name}_width`]
  return g.build({
    graphName: `upscale-x${scale}-stand-in`,
    opset: 17,
    inputs: [{ name: 'input', dims: dims('in') }],
    outputs: [{ name: 'output', dims: dims('out') }],
  })
}

/** Writes one upscale stand-in per file name ({ 'esrgan-slim-x2.onnx': 2, ... }) to a new temporary folder; returns name -> path. */
export async function writeUpscaleStandIns(files: Record<string, number>): Promise<Map<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'stand-in-'))
  const paths = new Map<string, string>()
  for (const [file, scale] of Object.entries(files)) {
    const path = join(dir, file)
    await writeFile(path, upscaleStandIn(scale))
    paths.set(file, path)
  }
  return paths
}
