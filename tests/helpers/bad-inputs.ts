import { readFile } from 'node:fs/promises'
import sharp from 'sharp'
import { fixture } from './images'
import { pngHeaderOnly } from './png'

export interface BadInput {
  name: string
  fileName: string
  bytes: () => Promise<Uint8Array>
  /** 'reject': refused with a clear message; 'process': a legitimate but unusual image that must work. */
  expect: 'reject' | 'process'
  /** For 'reject': what the message must say. For 'process': the expected output size at x2. */
  message?: RegExp
  size?: [number, number]
}

const small = () => sharp(fixture('chelsea.png')).resize(48, 32)

/** Every kind of awkward upload the product must survive (issue 8's list). */
export const BAD_INPUTS: BadInput[] = [
  { name: 'zero bytes', fileName: 'empty.png', bytes: async () => new Uint8Array(0), expect: 'reject', message: /empty/ },
  { name: 'truncated JPEG', fileName: 'truncated.jpg', bytes: () => readFile(fixture('truncated.jpg')), expect: 'reject', message: /damaged|not an image/ },
  {
    name: 'truncated PNG',
    fileName: 'cut.png',
    bytes: async () => (await readFile(fixture('chelsea.png'))).subarray(0, 20_000),
    expect: 'reject',
    message: /damaged|incomplete/,
  },
  {
    name: 'HTML disguised as PNG',
    fileName: 'photo.png',
    bytes: async () => Buffer.from('<!doctype html><script>alert(1)</script>'),
    expect: 'reject',
    message: /not an image/,
  },
  {
    name: 'SVG with script disguised as PNG',
    fileName: 'photo.png',
    bytes: async () =>
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>'),
    expect: 'reject',
    message: /Unsupported image format 'svg'/,
  },
  {
    name: 'decompression bomb (50000x50000 PNG header)',
    fileName: 'bomb.png',
    bytes: async () => pngHeaderOnly(50_000, 50_000),
    expect: 'reject',
    message: /50000x50000/,
  },
  {
    name: 'HEIC header (no decoder)',
    fileName: 'photo.heic',
    bytes: async () => Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic'), Buffer.alloc(64)]),
    expect: 'reject',
    message: /not an image|Unsupported|damaged/,
  },
  {
    name: 'random bytes',
    fileName: 'noise.jpg',
    bytes: async () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)),
    expect: 'reject',
    message: /not an image/,
  },
  { name: 'PNG named .jpg (content wins)', fileName: 'really-a-png.jpg', bytes: () => small().png().toBuffer(), expect: 'process', size: [96, 64] },
  {
    name: 'animated GIF (first frame)',
    fileName: 'anim.gif',
    bytes: async () =>
      sharp([await small().png().toBuffer(), await small().negate().png().toBuffer()], { join: { animated: true } })
        .gif({ loop: 0, delay: [100, 100] })
        .toBuffer(),
    expect: 'process',
    size: [96, 64],
  },
  { name: 'CMYK JPEG', fileName: 'cmyk.jpg', bytes: () => small().toColourspace('cmyk').jpeg().toBuffer(), expect: 'process', size: [96, 64] },
  { name: '16-bit PNG', fileName: 'deep.png', bytes: () => small().toColourspace('rgb16').png().toBuffer(), expect: 'process', size: [96, 64] },
  { name: 'grayscale + alpha PNG', fileName: 'ga.png', bytes: () => small().grayscale().ensureAlpha(0.5).png().toBuffer(), expect: 'process', size: [96, 64] },
  {
    name: 'multipage TIFF (first page)',
    fileName: 'pages.tiff',
    bytes: async () =>
      sharp([await small().png().toBuffer(), await small().negate().png().toBuffer()], { join: { animated: true } })
        .tiff()
        .toBuffer(),
    expect: 'process',
    size: [96, 64],
  },
  {
    name: 'EXIF-rotated JPEG',
    fileName: 'rotated.jpg',
    bytes: () => small().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    expect: 'process',
    size: [64, 96],
  },
  { name: 'path traversal in the file name', fileName: '../../etc/passwd.png', bytes: () => small().png().toBuffer(), expect: 'process', size: [96, 64] },
  { name: 'unicode file name', fileName: '猫 🐱 ß.png', bytes: () => small().png().toBuffer(), expect: 'process', size: [96, 64] },
]
