/**
 * One upscale job the way the service runs it (every model loaded, decode with limits, tiles,
 * alpha, PNG encode), in its own process so its peak RSS is the job's alone.
 * Prints one JSON line: { maxRssMiB, seconds, width, height, outBytes }.
 */
import { readFile } from 'node:fs/promises'
import { loadModel } from '../../inference/runtime/model-files'
import { esrganAdapters } from '../../inference/models/esrgan'
import { decodeImage, encodePng, resizePixels } from '../../inference/runtime/image'
import { limitsFromEnv } from '../../lib/limits'

const [file, modelId, scaleText] = process.argv.slice(2)
const scale = Number(scaleText)
for (const adapter of esrganAdapters) await loadModel(adapter)
const adapter = esrganAdapters.find((a) => a.info.id === modelId)!
const rssAfterLoad = process.memoryUsage().rss
const started = performance.now()
const bytes = await readFile(file!)
const image = await decodeImage(bytes, limitsFromEnv(), scale)
let lastTile = 0
const rgb = await adapter.process(
  image.rgb,
  { model: modelId!, scale, maskMode: 'both' },
  {
    signal: new AbortController().signal,
    onProgress: (done, total) => {
      if (done - lastTile >= total / 10 || done === total) {
        lastTile = done
        process.stderr.write(`tile ${done}/${total} rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`)
      }
    },
  },
)
const alpha = image.alpha && (await resizePixels(image.alpha, rgb.width, rgb.height))
const png = await encodePng(rgb, alpha)
console.log(
  JSON.stringify({
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    rssAfterLoadMiB: rssAfterLoad / 2 ** 20,
    seconds: (performance.now() - started) / 1000,
    width: rgb.width,
    height: rgb.height,
    outBytes: png.length,
  }),
)
