/**
 * Where the MAXIM denoiser's CPU time goes: one 256x256 tile through onnxruntime-node with ORT's
 * profiler on (first run warms up, second is measured), the profile aggregated by op type and by
 * node. Session options as inference/runtime/sessions.ts (graphOptimizationLevel 'all', arena off).
 *
 *   node_modules/node/bin/node --import tsx bench/maxim-profile.ts [model.onnx] [profile prefix]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import * as ort from 'onnxruntime-node'
import { intraOpThreads, sessionOptions } from '../inference/runtime/sessions'

const modelPath = process.argv[2] ?? '.models/maxim-denoising-256.onnx'
const prefix = process.argv[3] ?? '/tmp/maxim-probe/profile/maxim-denoising'
const side = 256

interface ProfileEvent {
  cat: string
  name: string
  dur: number
  args?: { op_name?: string; provider?: string }
}

await mkdir(dirname(prefix), { recursive: true })
let started = performance.now()
const session = await ort.InferenceSession.create(modelPath, {
  ...sessionOptions({ arena: false }),
  enableProfiling: true,
  profileFilePrefix: prefix,
})
const createSeconds = (performance.now() - started) / 1000
console.log(`${modelPath}: session created in ${createSeconds.toFixed(2)} s, ${intraOpThreads()} intra-op threads, ORT ${ort.env.versions?.common}`)

const input = new ort.Tensor(
  'float32',
  Float32Array.from({ length: 3 * side * side }, (_, i) => ((i * 37) % 255) / 255),
  [1, 3, side, side],
)
const runSeconds: number[] = []
for (let i = 0; i < 2; i++) {
  started = performance.now()
  const out = await session.run({ [session.inputNames[0]!]: input })
  runSeconds.push((performance.now() - started) / 1000)
  for (const t of Object.values(out)) t.dispose()
}
console.log(`runs: warm-up ${runSeconds[0]!.toFixed(2)} s, measured ${runSeconds[1]!.toFixed(2)} s`)
session.endProfiling()
await session.release()

// The profile file is named <prefix>_<date>.json; ORT prints it but the node binding does not return it.
const dir = dirname(prefix)
const base = prefix.slice(dir.length + 1)
const file = readdirSync(dir)
  .filter((f) => f.startsWith(base) && f.endsWith('.json'))
  .map((f) => `${dir}/${f}`)
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
if (!file) throw new Error(`no profile under ${prefix}`)
const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[]

// Node events of the last (measured) run only: the model_run events bound each run.
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run') as (ProfileEvent & { ts: number })[]
const last = runs.at(-1)!
const nodes = (events as (ProfileEvent & { ts: number })[]).filter(
  (e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= last.ts && e.ts <= last.ts + last.dur,
)
const total = nodes.reduce((s, e) => s + e.dur, 0)
console.log(`profile ${file}: measured run ${(last.dur / 1e6).toFixed(2)} s, kernels ${(total / 1e6).toFixed(2)} s over ${nodes.length} nodes`)

function table(title: string, key: (e: ProfileEvent) => string, top = 30) {
  const agg = new Map<string, { ms: number; count: number; op: string }>()
  for (const e of nodes) {
    const k = key(e)
    const a = agg.get(k) ?? { ms: 0, count: 0, op: e.args?.op_name ?? '' }
    a.ms += e.dur / 1000
    a.count++
    agg.set(k, a)
  }
  const rows = [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)
  console.log(`\n## ${title}\n`)
  console.log('| name | op | count | total ms | share |')
  console.log('|---|---|---|---|---|')
  for (const [k, a] of rows) console.log(`| ${k} | ${a.op} | ${a.count} | ${a.ms.toFixed(1)} | ${((100 * a.ms * 1000) / total).toFixed(1)}% |`)
}
table('By op type', (e) => e.args?.op_name ?? '?')
table('By node (top 30)', (e) => e.name.replace(/_kernel_time$/, ''))
