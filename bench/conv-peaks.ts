// The CPU's two convolution ceilings, side by side in one run (issue #19's "physical limits"): ORT's fp32 Conv and its
// int8 QLinearConv, each over a few layer shapes, with the service's session options. The int8 graph is the fp32 one in
// QDQ form (QuantizeLinear / DequantizeLinear around each Conv: uint8 per-tensor activations, int8 per-output-channel
// weights), the form a quantizer will emit; that ORT fused every Conv into an integer kernel is checked by counting the
// ops of its optimized graph, not assumed. Written to bench/results/conv-peaks.md.
//   node_modules/node/bin/node --import tsx bench/conv-peaks.ts
import { writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg } from 'node:os'
import * as ort from 'onnxruntime-node'
import { OnnxGraphBuilder } from '../inference/convert/onnx-graph'
import { optimizedOpCounts, quantizePerChannel } from '../inference/convert/quantize'
import { sessionOptions } from '../inference/runtime/sessions'

const LAYERS = 8
const RUNS = 10
/** [channels in, channels out, side]: a stack alternates in -> out -> in, so 64 -> 32 is half the work of 64 -> 64. */
const SHAPES: [number, number, number][] = [
  [64, 64, 128],
  [64, 32, 128],
  [128, 128, 128],
  [32, 32, 256],
  [64, 64, 256],
]

/** Deterministic pseudo-random weights (an LCG), the same for both graphs, scaled so activations keep their size through the layers. */
function weights(cin: number, cout: number, layer: number) {
  const scale = Math.sqrt(3 / (cin * 9))
  let state = 12345 + layer
  return Float32Array.from({ length: cout * cin * 9 }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return (state / 2 ** 32 - 0.5) * 2 * scale
  })
}

/** Activations are uint8 around zero: zero point 128, and a scale per tensor from its largest magnitude in the fp32 run. */
const ACTIVATION_ZERO = 128

/**
 * The stack in fp32 (with every layer's output as a graph output, for calibration), or in QDQ form with `ranges`: the
 * largest magnitude of the input and of each layer's output, as the fp32 stack computed them.
 */
function convStack(cin: number, cout: number, side: number, ranges?: number[]): Uint8Array {
  const int8 = !!ranges
  const g = new OnnxGraphBuilder()
  g.uniqueName('x')
  const zero = g.addTypedInitializer('act_zero', [], Uint8Array.of(ACTIVATION_ZERO), 'uint8')
  const scaleOf = (k: number) => g.addInitializer(`act_scale${k}`, [], [ranges![k]! / 127])
  let y = 'x'
  let scale = int8 ? scaleOf(0) : ''
  if (int8) y = g.addNode('QuantizeLinear', [y, scale, zero], 'xq')
  const layerOutputs: { name: string; dims: number[] }[] = []
  for (let layer = 0; layer < LAYERS; layer++) {
    const [a, b] = layer % 2 === 0 ? [cin, cout] : [cout, cin]
    const w = weights(a, b, layer)
    if (!int8) {
      const wName = g.addInitializer(`w${layer}`, [b, a, 3, 3], w)
      y = g.addNode('Conv', [y, wName], `y${layer}`, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
      layerOutputs.push({ name: y, dims: [1, b, side, side] })
      continue
    }
    // Per output channel: int8 weights at scale max|w| / 127, zero point 0 (symmetric, as ORT's u8s8 kernels want).
    const { q, scales } = quantizePerChannel(w, b)
    const wq = g.addTypedInitializer(`w${layer}_q`, [b, a, 3, 3], q)
    const ws = g.addInitializer(`w${layer}_scale`, [b], scales)
    const wz = g.addTypedInitializer(`w${layer}_zero`, [b], new Int8Array(b))
    const wdq = g.addNode('DequantizeLinear', [wq, ws, wz], `w${layer}_dq`, { axis: 0 })
    const xdq = g.addNode('DequantizeLinear', [y, scale, zero], `x${layer}_dq`)
    const conv = g.addNode('Conv', [xdq, wdq], `y${layer}`, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
    scale = scaleOf(layer + 1)
    y = g.addNode('QuantizeLinear', [conv, scale, zero], `y${layer}_q`)
  }
  const dims = [1, cin, side, side]
  if (!int8) return g.build({ graphName: 'conv-fp32', opset: 17, inputs: [{ name: 'x', dims }], outputs: layerOutputs })
  y = g.addNode('DequantizeLinear', [y, scale, zero], 'y')
  return g.build({ graphName: 'conv-int8', opset: 17, inputs: [{ name: 'x', dims }], outputs: [{ name: y, dims }] })
}

const load = loadavg()[0]!
const rows: string[] = []
let fp32Peak = { value: 0, shape: '' }
let int8Peak = { value: 0, shape: '' }
for (const [cin, cout, side] of SHAPES) {
  const shape = `${cin}->${cout} 3x3 at ${side}²`
  // Multiply-adds of the stack: alternating layers are cin x cout either way.
  const ops = LAYERS * 2 * cin * cout * 9 * side * side
  const fp32 = await ort.InferenceSession.create(convStack(cin, cout, side), sessionOptions())
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: cin * side * side }, (_, i) => Math.sin(i * 0.37) * 2),
    [1, cin, side, side],
  )
  // Calibration on the input itself: each tensor's largest magnitude.
  const largest = (data: Float32Array) => data.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
  const calibration = await fp32.run({ x })
  const ranges = [largest(x.data as Float32Array), ...fp32.outputNames.map((name) => largest(calibration[name]!.data as Float32Array))]
  const int8Model = convStack(cin, cout, side, ranges)
  const fused = await optimizedOpCounts(int8Model)
  const integerConvs = [...fused].filter(([op]) => /QLinearConv|ConvInteger/.test(op)).reduce((sum, [, n]) => sum + n, 0)
  const floatConvs = fused.get('Conv') ?? 0
  const int8 = await ort.InferenceSession.create(int8Model, sessionOptions())
  // Warm-ups, then the two alternate run by run, so that both see the same machine.
  for (const session of [fp32, int8, fp32, int8]) await session.run({ x })
  const times = { fp32: [] as number[], int8: [] as number[] }
  const outputs: Partial<Record<'fp32' | 'int8', Float32Array>> = {}
  for (let run = 0; run < RUNS; run++)
    for (const [name, session] of [
      ['fp32', fp32],
      ['int8', int8],
    ] as const) {
      const started = performance.now()
      const out = await session.run({ x })
      times[name].push((performance.now() - started) / 1000)
      outputs[name] ??= out[session.outputNames.at(-1)!]!.data as Float32Array
    }
  let squared = 0
  let range = 0
  const [fp32Out, int8Out] = [outputs.fp32!, outputs.int8!]
  for (let i = 0; i < fp32Out.length; i++) {
    squared += (fp32Out[i]! - int8Out[i]!) ** 2
    range = Math.max(range, Math.abs(fp32Out[i]!))
  }
  const difference = Math.sqrt(squared / fp32Out.length) / range
  await fp32.release()
  await int8.release()
  const best = (t: number[]) => Math.min(...t)
  const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!
  const fp32Rate = ops / best(times.fp32) / 1e9
  const int8Rate = ops / best(times.int8) / 1e9
  if (fp32Rate > fp32Peak.value) fp32Peak = { value: fp32Rate, shape }
  if (int8Rate > int8Peak.value) int8Peak = { value: int8Rate, shape }
  const line = `| ${shape} | ${(ops / 1e9).toFixed(1)} | ${(1000 * best(times.fp32)).toFixed(1)} ms (median ${(1000 * median(times.fp32)).toFixed(1)}) | ${fp32Rate.toFixed(0)} | ${(1000 * best(times.int8)).toFixed(1)} ms (median ${(1000 * median(times.int8)).toFixed(1)}) | ${int8Rate.toFixed(0)} | **${(int8Rate / fp32Rate).toFixed(2)}x** | ${integerConvs} of ${LAYERS} (${floatConvs} float Conv left) | ${(100 * difference).toFixed(2)} % |`
  console.log(line)
  rows.push(line)
}

const report = [
  `# Convolution ceilings: fp32 Conv vs int8 QLinearConv (${new Date().toISOString().slice(0, 10)})`,
  '',
  `${LAYERS} stacked 3x3 Convs per shape (no bias, no activation: the kernels alone), batch 1, the service's session options (sessions.ts: ${availableParallelism()} threads, spinning ${process.env.ORT_INTRA_OP_SPINNING === '0' ? 'off' : 'on'}). Int8: the same weights in QDQ form, uint8 activations per tensor, int8 weights per output channel; "fused" counts the integer convolutions in ORT's optimized graph. Best of ${RUNS} runs after two warm-ups, fp32 and int8 alternating run by run. GOP/s = 2 x multiply-adds / time. "Error": RMS difference of the int8 output from the fp32 one, relative to the output's largest magnitude, each activation's scale calibrated on the fp32 run of the same input (these weights are pseudo-random, not a trained network: it says the integer path computes the same stack, not what a model loses).`,
  '',
  '| shape | GOP per run | fp32 time | fp32 GFLOP/s | int8 time | int8 GOP/s | int8 / fp32 | fused | error |',
  '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ...rows,
  '',
  `Peaks: fp32 **${fp32Peak.value.toFixed(0)} GFLOP/s** (${fp32Peak.shape}), int8 **${int8Peak.value.toFixed(0)} GOP/s** (${int8Peak.shape}): **${(int8Peak.value / fp32Peak.value).toFixed(2)}x**.`,
  '',
  `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), load average ${load.toFixed(1)} when the run started; onnxruntime-node ${ort.env.versions.common}.`,
  '',
]
await writeFile('bench/results/conv-peaks.md', report.join('\n'))
console.log(report.join('\n'))
