/**
 * What each model costs per input megapixel on this machine, at each scale it offers: the figure the
 * studio's tool cards ("about 20 s for this photo") and its first time-left estimate are computed from
 * (contracts/job-progress.ts, estimateStepsMs). Each model runs, through its adapter as the service runs it
 * (tiles and all), once to warm up and then timed, on a photo big enough for its tiling to overlap as it
 * does on real photos: 384x384 for the upscalers (9 tiles of 128 px), 512x512 for MAXIM (9 of its 256 px
 * windows), and the text-removal figure is the mean over three captioned photos of the evaluation set.
 *
 *   node_modules/node/bin/node --import tsx bench/model-cost.ts [--only <task>]
 *
 * writes inference/models/measured-cost.json (read by every service's /v1/info) and bench/results/model-cost.md;
 * with --only, measures one task's models and replaces their entries and rows, keeping the others' (and saying so).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { TASK_MODELS } from '../inference/models/registry'
import { cropPixels, type Pixels } from '../inference/runtime/image'
import { loadModel, userFilesPresent } from '../inference/runtime/model-files'
import { buildEvalSet } from '../tests/helpers/text-eval-set'
import { loadRgb } from '../tests/helpers/images'

const load = loadavg()[0]!
const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })
const costs: Record<string, Record<string, number>> = {}
const lines: string[] = []

async function timed(run: () => Promise<unknown>) {
  const started = performance.now()
  await run()
  return performance.now() - started
}

const astronaut = await loadRgb('astronaut.png')
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
if (only) Object.assign(costs, JSON.parse(readFileSync('inference/models/measured-cost.json', 'utf8')))
const texts = await buildEvalSet({ names: ['caption-coffee-large', 'meme-chelsea-large', 'watermark-coffee-large'] })
for (const [task, adapters] of Object.entries(TASK_MODELS))
  for (const adapter of adapters) {
    if (only && task !== only) continue
    if (!userFilesPresent(adapter)) continue // a learned model whose file nobody added
    await loadModel(adapter)
    const id = adapter.info.id
    costs[id] = {}
    for (const scale of adapter.info.capabilities.scales) {
      const options = adapter.options.parse(scale === 1 ? {} : { scale })
      let ms: number
      let pixels: number
      if (task === 'remove-text') {
        await adapter.process(texts[0]!.overlaid, options, context())
        ms = 0
        pixels = 0
        for (const image of texts) {
          ms += await timed(() => adapter.process(image.overlaid, options, context()))
          pixels += image.overlaid.width * image.overlaid.height
        }
      } else {
        const side = task === 'upscale' ? 384 : 512
        const photo: Pixels = cropPixels(astronaut, 0, 0, side, side)
        await adapter.process(cropPixels(photo, 0, 0, 160, 160), options, context())
        ms = await timed(() => adapter.process(photo, options, context()))
        pixels = side * side
      }
      costs[id][String(scale)] = Math.round((ms / pixels) * 1e6)
      const line = `| ${id} | ${scale === 1 ? 'same size' : `x${scale}`} | ${(ms / 1000).toFixed(1)} s | ${(pixels / 1e6).toFixed(2)} MP | ${((ms / pixels) * 1e3).toFixed(1)} s |`
      lines.push(line)
      console.log(line)
    }
  }

writeFileSync('inference/models/measured-cost.json', `${JSON.stringify(costs, null, 2)}\n`)
const machine = `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${load.toFixed(1)} when the run started.`
if (only) {
  // One task again: its rows replaced in the last full run's table, and a line saying when.
  const ids = new Set(lines.map((line) => line.split(' | ')[0]))
  const old = readFileSync('bench/results/model-cost.md', 'utf8').split('\n')
  const kept = old.filter((line) => !ids.has(line.split(' | ')[0]!))
  const at = kept.findIndex((line) => line.startsWith('Machine:'))
  kept.splice(at - 1, 0, ...lines)
  kept.push(`${only} measured again on ${new Date().toISOString().slice(0, 10)}, alone (--only): ${machine.slice(9)}`, '')
  writeFileSync('bench/results/model-cost.md', kept.join('\n').replace(/\n{3,}$/, '\n'))
} else
  writeFileSync(
    'bench/results/model-cost.md',
    `# What each model costs per input megapixel (${new Date().toISOString().slice(0, 10)})

Through each adapter as the service runs it (tiles, margins, cross-fades), warm, one run each: upscalers on a
384x384 crop of astronaut.png, MAXIM on 512x512, text removal over three captioned photos of the evaluation set
(detection, letter masks, judged fills). The studio's tool cards and its first time-left estimate are these
figures times the photo's megapixels at each step (inference/models/measured-cost.json); a machine with more
cores is faster, so the studio says "about".

| model | scale | time | input | per input MP |
|---|---|--:|--:|--:|
${lines.join('\n')}

${machine}
`,
  )
console.log('wrote inference/models/measured-cost.json and bench/results/model-cost.md')
