/**
 * Peak RSS of a 4096x4096 x2 upscale job (target <= 2 GB), measured in a child process.
 *
 *   npx tsx bench/upscale-memory.ts [model=esrgan-slim] [side=4096] [scale=2]   writes bench/results/upscale-memory.md
 *
 * The model changes the run time, not the memory: tiles bound ORT's working set, so what grows
 * with the image is the decoded input, the 8-bit output and the PNG encoder's buffers.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { ESRGAN_TILE, esrganAdapters } from '../inference/models/esrgan'
import { fixture } from '../tests/helpers/images'

const model = process.argv[2] ?? 'esrgan-slim'
const side = Number(process.argv[3] ?? 4096)
const scale = Number(process.argv[4] ?? 2)
const dir = await mkdtemp(join(tmpdir(), 'restora-rss-'))
try {
  // A real photo blown up to the test size, with an alpha channel so that path is measured too.
  const input = join(dir, 'input.png')
  await sharp(fixture('astronaut.png')).resize(side, side, { kernel: 'lanczos3' }).ensureAlpha(1).png({ compressionLevel: 1 }).toFile(input)
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/lib/rss-job.ts', input, model, String(scale)], {
    env: {
      ...process.env,
      MAX_INPUT_PIXELS: String(side * side),
      MAX_OUTPUT_PIXELS: String(side * side * scale * scale),
      MAX_INPUT_BYTES: String(1 << 30),
      LOG_LEVEL: 'warn',
    },
    maxBuffer: 1 << 24,
  })
  process.stderr.write(stderr)
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    maxRssMiB: number
    rssAfterLoadMiB: number
    seconds: number
    width: number
    height: number
    outBytes: number
  }
  const lines = [
    '# Upscale memory (bench/upscale-memory.ts)',
    '',
    `One ${side}x${side} RGBA PNG upscaled x${scale} with ${model} in a child process, every model loaded as the service does, tiles of ${ESRGAN_TILE.size} px cores with ${ESRGAN_TILE.margin} px margins, ORT_INTRA_OP_THREADS=${process.env.ORT_INTRA_OP_THREADS ?? 'all cores'}.`,
    'Input and output limits were raised for the run (the defaults, 16 MP in and 64 MP out, refuse a 4096x4096 x2 job).',
    '',
    '| measure | value |',
    '|---|---|',
    `| peak RSS of the job process (getrusage maxrss) | **${r.maxRssMiB.toFixed(0)} MiB** (target <= 2048) |`,
    `| RSS after loading all ${esrganAdapters.reduce((n, a) => n + a.variant.scales.length, 0)} sessions, before the job | ${r.rssAfterLoadMiB.toFixed(0)} MiB |`,
    `| output | ${r.width}x${r.height} PNG, ${(r.outBytes / 2 ** 20).toFixed(0)} MiB |`,
    `| wall time (decode, tiles, encode) | ${r.seconds.toFixed(0)} s |`,
    '',
  ]
  console.log(lines.join('\n'))
  await mkdir('bench/results', { recursive: true })
  await writeFile('bench/results/upscale-memory.md', lines.join('\n'))
} finally {
  await rm(dir, { recursive: true, force: true })
}
