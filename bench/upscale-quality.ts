/**
 * x4 upscaling quality on the evaluation set of tests/helpers/upscale-eval.ts: every fixture photo whole
 * and 14 textured crops of them, each as a clean bicubic downscale and with three of five real-world
 * damages (blur, sensor noise, JPEG), through bicubic, UpscalerJS's three ESRGANs and both Real-ESRGANs;
 * means of PSNR, SSIM, JPEG blockiness and edge sharpness against the clean originals, per method and
 * per kind of input, and the time per output megapixel. Side-by-side pictures of every case go to
 * test-results/realesrgan-bench/ (input | bicubic | esrgan-medium | general-x4 | x4plus | original).
 *
 *   node_modules/node/bin/node --import tsx bench/upscale-quality.ts      writes bench/results/upscale-quality.md
 *
 * About 3 minutes on 2 cores, most of it x4plus and esrgan-thick. tests/quality/realesrgan-quality.test.ts
 * checks a small subset of the same measures.
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import * as ort from 'onnxruntime-node'
import { intraOpThreads } from '../inference/runtime/sessions'
import {
  benchPlan,
  BENCH_CROPS,
  blockiness,
  buildUpscaleSet,
  DAMAGES,
  loadUpscalers,
  meanScores,
  type Result,
  runCase,
  saveCase,
  scoreTable,
  UPSCALERS,
  type UpscaleCase,
} from '../tests/helpers/upscale-eval'

const started = new Date()
const loadAtStart = loadavg()
await loadUpscalers()
const set = await buildUpscaleSet(benchPlan())
const runs: { c: UpscaleCase; results: Map<string, Result> }[] = []
for (const [i, c] of set.entries()) {
  const results = await runCase(c)
  runs.push({ c, results })
  await saveCase('test-results/realesrgan-bench', c, results)
  const line = [...results].map(([id, r]) => `${id} ${r.scores.psnr.toFixed(2)}/${r.scores.blockiness.toFixed(2)}/${r.scores.sharpness.toFixed(2)}`).join(' ')
  console.log(`${i + 1}/${set.length} ${c.name} ${c.input.width}x${c.input.height}: ${line}`)
}

const kinds: { title: string; filter: (c: UpscaleCase) => boolean }[] = [
  { title: 'Clean bicubic downscales', filter: (c) => c.damage === null },
  { title: 'Damaged (all five damages)', filter: (c) => c.damage !== null },
  ...DAMAGES.map((d) => ({
    title: `Damaged: ${d.name} (blur ${d.blur}, noise ${d.noise}, JPEG ${d.quality})`,
    filter: (c: UpscaleCase) => c.damage?.name === d.name,
  })),
]

/** Per method over the cases that pass `filter`: mean scores, seconds per output MP, and how it fares against bicubic case by case. */
function summary(filter: (c: UpscaleCase) => boolean) {
  const chosen = runs.filter((r) => filter(r.c))
  const mp = chosen.reduce((s, r) => s + (r.c.original.width * r.c.original.height) / 1e6, 0)
  return UPSCALERS.map((method) => {
    const mine = chosen.map((r) => r.results.get(method)!)
    const bicubic = chosen.map((r) => r.results.get('bicubic')!)
    const gaps = mine.map((m, i) => ({ gap: m.scores.psnr - bicubic[i]!.scores.psnr, name: chosen[i]!.c.name }))
    const worst = gaps.reduce((a, b) => (b.gap < a.gap ? b : a))
    return {
      method,
      cases: chosen.length,
      scores: meanScores(mine.map((m) => m.scores)),
      secondsPerMp: mine.reduce((s, m) => s + m.seconds, 0) / mp,
      worst,
      lessBlocky: mine.filter((m, i) => m.scores.blockiness < bicubic[i]!.scores.blockiness).length,
      sharper: mine.filter((m, i) => Math.abs(1 - m.scores.sharpness) < Math.abs(1 - bicubic[i]!.scores.sharpness)).length,
    }
  })
}

const sections = kinds.map(({ title, filter }) => {
  const rows = summary(filter)
  const n = rows[0]!.cases
  const versus = [
    '| method | PSNR - bicubic (dB) | worst case (dB) | less blocky than bicubic | sharper than bicubic |',
    '|---|--:|--:|--:|--:|',
    ...rows
      .slice(1)
      .map(
        (r) =>
          `| ${r.method} | ${(r.scores.psnr - rows[0]!.scores.psnr).toFixed(2)} | ${r.worst.gap.toFixed(2)} (${r.worst.name}) | ${r.lessBlocky}/${n} | ${r.sharper}/${n} |`,
      ),
  ]
  return `## ${title}: ${n} cases\n\n${scoreTable(rows).join('\n')}\n\n${versus.join('\n')}\n`
})

const originals = BENCH_CROPS.map((crop) => runs.find((r) => r.c.name === `${crop.name}-clean`)!.c.original)
const own = originals.map((o) => blockiness(o))
const sides = originals.flatMap((o) => [o.width, o.height])
const inputPixels = set.reduce((s, c) => s + c.input.width * c.input.height, 0)
const outputMp = set.reduce((s, c) => s + c.original.width * c.original.height, 0) / 1e6
const report = `# Upscale quality: bicubic, UpscalerJS ESRGAN, Real-ESRGAN (bench/upscale-quality.ts)

${started.toISOString()}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, onnxruntime-node ${ort.env.versions?.common} with ${intraOpThreads()} intra-op threads; load average at start ${loadAtStart.map((l) => l.toFixed(1)).join(' / ')}, at the end ${loadavg()
  .map((l) => l.toFixed(1))
  .join(' / ')} (the machine is shared: times are upper bounds).

Run: \`node_modules/node/bin/node --import tsx bench/upscale-quality.ts\` (about 3 minutes on 2 cores); pictures of every case in test-results/realesrgan-bench/.

${set.length} cases (tests/helpers/upscale-eval.ts): ${BENCH_CROPS.length} crops of the fixture photos (the five whole, and face, hair, flag,
printed patch, shuttle, eyes, fur, whiskers, cup, spoon, wood, grass, skyline, printed text), sides ${Math.min(...sides)}-${Math.max(...sides)} px, each downscaled
x4 with bicubic (${(inputPixels / 1e6).toFixed(2)} MP of input, ${outputMp.toFixed(2)} MP of output per method), once as it is and with three of
five damages applied to the small image: Gaussian blur (sigma 0.6-1.4), sensor-like noise (sigma 2-8 at mid-grey, read + shot
variance, half shared by the channels, fixed seed), JPEG quality 30-60 (4:2:0). Every method upscales x4 and is scored against the clean crop.

Measures (luma unless said; none uses a network):
- **PSNR** (RGB) and **SSIM** (7x7 windows, standard constants) against the original.
- **blockiness** of the output alone: the mean step across the input's JPEG grid lines (every 32 output px) over the mean step
  across the other input-pixel boundaries (every 4 px), steps as the difference of 2-px means, capped at their 90th percentile.
  1.0 = no blocks; the originals themselves score ${Math.min(...own).toFixed(2)}-${Math.max(...own).toFixed(2)} on content alone, ${(own.reduce((a, b) => a + b) / own.length).toFixed(2)} on average. Lower is better.
- **sharpness**: the output's Sobel gradient over the original's, summed over the original's edge pixels (its top 10 %).
  1.0 = the original's edges as steep; closer to 1 is better (all methods are below 1 here).
- **flat**: the same ratio over the original's smoothest half: noise, artefacts or invented texture where the original is smooth
  (1.0 = as much as the original; blur smearing edges into them counts too; reported, not ranked).
- **s per output MP**: upscaling time (model only, tiled as the service runs it: the cores of tileSizeOf in inference/models/esrgan.ts, 16 px margins), over every case of the kind.

${sections.join('\n')}`
writeFileSync('bench/results/upscale-quality.md', report)
console.log(report)
