/**
 * Side by side, in one process, alternating: a MAXIM model converted before and after the second
 * fusion stage (onnx-fusions.ts, fuseLiveGraph), at the service's 256x256 tile and its session
 * options (sessions.ts). Writes bench/results/maxim-live-fusions.md.
 *
 *   node --import tsx bench/maxim-live-fusions.ts <before.onnx> <after.onnx> [...more pairs]
 */
import { writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { basename } from 'node:path'
import * as ort from 'onnxruntime-node'
import { intraOpThreads, sessionOptions } from '../inference/runtime/sessions'

const files = process.argv.slice(2)
if (files.length < 2 || files.length % 2) throw new Error('give pairs of ONNX files: before after [before after...]')
const options = sessionOptions({ arena: false })
const side = 256
const input = Float32Array.from({ length: 3 * side * side }, (_, i) => ((i * 37) % 255) / 255)
const lines = [
  `# MAXIM: the second fusion stage, side by side (${new Date().toISOString().slice(0, 10)})`,
  '',
  `${cpus()[0]?.model}, ${availableParallelism()} cores, ${intraOpThreads()} intra-op threads, load average at start ${loadavg()[0]!.toFixed(1)}.`,
  'Best of 4 runs each after a warm-up, the two models alternating; max difference on the 0..1 scale.',
  '',
  '| model | before (s per tile) | after (s per tile) | speed-up | max difference |',
  '|---|--:|--:|--:|--:|',
]
for (let k = 0; k < files.length; k += 2) {
  const sessions = await Promise.all([files[k]!, files[k + 1]!].map((f) => ort.InferenceSession.create(f, options)))
  const run = async (s: ort.InferenceSession) => {
    const started = performance.now()
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, side, side]) })
    return { seconds: (performance.now() - started) / 1000, data: out[s.outputNames[0]!]!.data as Float32Array }
  }
  const best = [Infinity, Infinity]
  let outputs: Float32Array[] = []
  for (let i = 0; i < 5; i++) {
    outputs = []
    for (const [j, s] of sessions.entries()) {
      const r = await run(s)
      outputs.push(r.data)
      if (i > 0) best[j] = Math.min(best[j]!, r.seconds)
    }
  }
  let diff = 0
  for (let i = 0; i < outputs[0]!.length; i++) diff = Math.max(diff, Math.abs(outputs[0]![i]! - outputs[1]![i]!))
  lines.push(
    `| ${basename(files[k + 1]!, '.onnx')} | ${best[0]!.toFixed(2)} | ${best[1]!.toFixed(2)} | ${(best[0]! / best[1]!).toFixed(2)}x | ${diff.toExponential(1)} |`,
  )
  console.log(lines.at(-1))
  for (const s of sessions) await s.release()
}
lines.push(
  '',
  `Load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}.`,
  '',
)
await writeFile('bench/results/maxim-live-fusions.md', lines.join('\n'))
