/**
 * What the studio's live previews cost a run: the same tiled runs with and without the service's throttled
 * previews (inference/runtime/preview.ts: the output so far over the input, a 384 px JPEG at most every
 * PREVIEW_EVERY_MS), in pairs in one process (each going first in turn), five pairs (MAXIM nine); the slowdown is the median of the pairs' ratios.
 * The budget: at most 5 % slower.
 *
 *   node_modules/node/bin/node --import tsx bench/preview-cost.ts      writes bench/results/preview-cost.md
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { esrganAdapters } from '../inference/models/esrgan'
import { maximDenoising } from '../inference/models/maxim'
import type { ModelAdapter } from '../inference/models/adapter'
import type { Pixels } from '../inference/runtime/image'
import { loadModel } from '../inference/runtime/model-files'
import { PREVIEW_EVERY_MS, throttledPreviews } from '../inference/runtime/preview'
import { loadRgb } from '../tests/helpers/images'

const load = loadavg()[0]!
/** Pairs per case: MAXIM's runs drift most (23.7 -> 28.7 s over six of the same), so it gets more. */
const PAIRS = (adapter: ModelAdapter) => (adapter.info.task === 'denoise' ? 9 : 5)
const medium = esrganAdapters.find((a) => a.info.id === 'esrgan-medium')!
const thick = esrganAdapters.find((a) => a.info.id === 'esrgan-thick')!
const CASES: { adapter: ModelAdapter; options: object; photo: string; crop: { left: number; top: number; width: number; height: number } }[] = [
  { adapter: medium, options: { scale: 4 }, photo: 'astronaut.png', crop: { left: 0, top: 0, width: 512, height: 512 } },
  { adapter: thick, options: { scale: 4 }, photo: 'astronaut.png', crop: { left: 0, top: 0, width: 384, height: 384 } },
  { adapter: maximDenoising, options: {}, photo: 'astronaut.png', crop: { left: 0, top: 0, width: 512, height: 512 } },
]

async function run(adapter: ModelAdapter, options: object, image: Pixels, previews: boolean) {
  let sent = 0
  let bytes = 0
  const onPartial = previews
    ? throttledPreviews(
        image,
        ({ jpeg }) => {
          sent++
          bytes += jpeg.length
        },
        () => true,
      )
    : undefined
  const started = performance.now()
  await adapter.process(image, adapter.options.parse(options), { signal: new AbortController().signal, onProgress: () => {}, onPartial })
  const ms = performance.now() - started
  await new Promise((resolve) => setTimeout(resolve, 200)) // a preview still being encoded is counted, not timed
  return { ms, sent, bytes }
}

const rows: string[] = []
for (const { adapter, options, photo, crop } of CASES) {
  await loadModel(adapter)
  const image = await loadRgb(photo, crop)
  await run(adapter, options, image, false) // warm-up
  // In pairs, each going first in turn: one process's runs drift (MAXIM 23.7 -> 28.7 s over six runs of the same
  // work), so the slowdown is the median of each pair's ratio, not a ratio of bests.
  const plains: number[] = []
  const withs: number[] = []
  const ratios: number[] = []
  let sent = 0
  let bytes = 0
  for (let i = 0; i < PAIRS(adapter); i++) {
    const pair: Record<string, number> = {}
    for (const previews of i % 2 ? [true, false] : [false, true]) {
      const r = await run(adapter, options, image, previews)
      pair[String(previews)] = r.ms
      if (previews) {
        sent = r.sent
        bytes = r.bytes
      }
    }
    plains.push(pair.false!)
    withs.push(pair.true!)
    ratios.push(pair.true! / pair.false!)
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!
  const plain = median(plains)
  const withPreviews = median(withs)
  const slower = 100 * (median(ratios) - 1)
  const row = `| ${adapter.info.id} ${JSON.stringify(options)} on ${crop.width}x${crop.height} | ${(plain / 1000).toFixed(2)} s | ${(withPreviews / 1000).toFixed(2)} s | ${slower >= 0 ? '+' : ''}${slower.toFixed(1)} % | ${sent} | ${sent ? (bytes / sent / 1024).toFixed(0) : '-'} KB | ${ratios.map((r) => `${r >= 1 ? '+' : ''}${(100 * (r - 1)).toFixed(1)}`).join(' ')} |`
  rows.push(row)
  console.log(row)
}

writeFileSync(
  'bench/results/preview-cost.md',
  `# Live previews: what they cost a run (${new Date().toISOString().slice(0, 10)})

The same runs through each adapter with and without the service's previews (a ${'≤'}384 px JPEG of the output so
far over the input, at most every ${PREVIEW_EVERY_MS} ms, one at a time), in pairs in one process (each going first in turn), 5 pairs (MAXIM 9); the
slowdown is the median of the pairs' ratios (runs in one process drift by several per cent). Budget: at most 5 % slower.

| run | without (median) | with previews (median) | slower (median of pairs) | previews sent | per preview | each pair (%) |
|---|--:|--:|--:|--:|--:|---|
${rows.join('\n')}

Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${load.toFixed(1)} when the run started.
`,
)
console.log('wrote bench/results/preview-cost.md')
