import type { Pixels } from './image'

/**
 * Classical inpainting: Telea's fast marching method (2004). Hole pixels are filled in order of
 * their distance from the known border, each from a weighted average of known pixels within
 * `radius`, favouring close pixels, pixels on the same distance level, and pixels along the
 * direction the front moves. Needs no weights and is exact outside the mask.
 */

const KNOWN = 0
const BAND = 1
const INSIDE = 2

/** Rectangles around the mask's regions (grown by `pad`, merged when they overlap), to inpaint crop by crop. */
export function maskRegions(mask: Pixels, pad: number): [number, number, number, number][] {
  const { width, height, data } = mask
  const seen = new Uint8Array(width * height)
  let rects: [number, number, number, number][] = []
  const stack: number[] = []
  for (let start = 0; start < data.length; start++) {
    if (!data[start] || seen[start]) continue
    let x0 = width,
      y0 = height,
      x1 = 0,
      y1 = 0
    seen[start] = 1
    stack.push(start)
    while (stack.length) {
      const p = stack.pop()!
      const x = p % width
      const y = (p - x) / width
      x0 = Math.min(x0, x)
      x1 = Math.max(x1, x + 1)
      y0 = Math.min(y0, y)
      y1 = Math.max(y1, y + 1)
      for (const q of [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, y > 0 ? p - width : -1, y < height - 1 ? p + width : -1])
        if (q >= 0 && data[q] && !seen[q]) {
          seen[q] = 1
          stack.push(q)
        }
    }
    rects.push([Math.max(0, x0 - pad), Math.max(0, y0 - pad), Math.min(width, x1 + pad), Math.min(height, y1 + pad)])
  }
  // Merge overlapping rectangles until none overlap, so each pixel is inpainted once.
  for (let merged = true; merged; ) {
    merged = false
    outer: for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++) {
        const a = rects[i]!,
          b = rects[j]!
        if (a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]) {
          rects[i] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]
          rects = rects.filter((_, k) => k !== j)
          merged = true
          break outer
        }
      }
  }
  return rects
}

/** Inpaints `image` (RGB) where `mask` (one channel) is non-zero; works only on crops around the holes. */
export function inpaintTelea(image: Pixels, mask: Pixels, radius = 5, signal?: AbortSignal): Pixels {
  const out = new Uint8Array(image.data)
  for (const [x0, y0, x1, y1] of maskRegions(mask, radius + 2)) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted')
    fillRegion(out, image.width, mask.data, x0, y0, x1 - x0, y1 - y0, radius)
  }
  return { ...image, data: out }
}

class MinHeap {
  private keys: number[] = []
  private items: number[] = []
  get size() {
    return this.items.length
  }
  push(key: number, item: number) {
    let i = this.items.length
    this.keys.push(key)
    this.items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.keys[parent]! <= key) break
      this.keys[i] = this.keys[parent]!
      this.items[i] = this.items[parent]!
      i = parent
    }
    this.keys[i] = key
    this.items[i] = item
  }
  pop(): number {
    const top = this.items[0]!
    const lastKey = this.keys.pop()!
    const lastItem = this.items.pop()!
    if (this.items.length) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= this.items.length) break
        const r = l + 1
        const c = r < this.items.length && this.keys[r]! < this.keys[l]! ? r : l
        if (this.keys[c]! >= lastKey) break
        this.keys[i] = this.keys[c]!
        this.items[i] = this.items[c]!
        i = c
      }
      this.keys[i] = lastKey
      this.items[i] = lastItem
    }
    return top
  }
}

function fillRegion(pixels: Uint8Array, stride: number, maskData: Uint8Array, ox: number, oy: number, w: number, h: number, radius: number) {
  const n = w * h
  const flag = new Uint8Array(n)
  const T = new Float32Array(n).fill(1e6)
  const heap = new MinHeap()
  const at = (i: number) => ((oy + ((i / w) | 0)) * stride + ox + (i % w)) * 3
  for (let i = 0; i < n; i++) if (maskData[(oy + ((i / w) | 0)) * stride + ox + (i % w)]) flag[i] = INSIDE
  for (let i = 0; i < n; i++) {
    if (flag[i] !== KNOWN) continue
    T[i] = 0
    const x = i % w,
      y = (i / w) | 0
    if (
      (x > 0 && flag[i - 1] === INSIDE) ||
      (x < w - 1 && flag[i + 1] === INSIDE) ||
      (y > 0 && flag[i - w] === INSIDE) ||
      (y < h - 1 && flag[i + w] === INSIDE)
    )
      heap.push(0, i)
  }
  const solve = (a: number, b: number) => {
    const ta = T[a]!,
      tb = T[b]!
    if (flag[a] !== KNOWN && flag[b] !== KNOWN) return 1e6
    if (flag[a] === KNOWN && flag[b] === KNOWN) {
      const r = Math.sqrt(Math.max(0, 2 - (ta - tb) * (ta - tb)))
      const s = (ta + tb + r) / 2
      if (s >= ta && s >= tb) return s
      return Math.min(ta, tb) + 1
    }
    return (flag[a] === KNOWN ? ta : tb) + 1
  }
  while (heap.size) {
    const p = heap.pop()
    flag[p] = KNOWN
    const px = p % w,
      py = (p / w) | 0
    for (const q of [px > 0 ? p - 1 : -1, px < w - 1 ? p + 1 : -1, py > 0 ? p - w : -1, py < h - 1 ? p + w : -1]) {
      if (q < 0 || flag[q] !== INSIDE) continue
      const qx = q % w,
        qy = (q / w) | 0
      const left = qx > 0 ? q - 1 : q,
        right = qx < w - 1 ? q + 1 : q,
        up = qy > 0 ? q - w : q,
        down = qy < h - 1 ? q + w : q
      T[q] = Math.min(solve(left, up), solve(right, up), solve(left, down), solve(right, down))
      // Direction the front moves at q: the gradient of T over known neighbours.
      const gx = (flag[right] === KNOWN ? T[right]! : T[q]!) - (flag[left] === KNOWN ? T[left]! : T[q]!)
      const gy = (flag[down] === KNOWN ? T[down]! : T[q]!) - (flag[up] === KNOWN ? T[up]! : T[q]!)
      const gn = Math.hypot(gx, gy) || 1
      let sum = 0,
        r = 0,
        g = 0,
        b = 0
      for (let dy = -radius; dy <= radius; dy++) {
        const ky = qy + dy
        if (ky < 0 || ky >= h) continue
        for (let dx = -radius; dx <= radius; dx++) {
          const kx = qx + dx
          const d2 = dx * dx + dy * dy
          if (kx < 0 || kx >= w || d2 === 0 || d2 > radius * radius) continue
          const k = ky * w + kx
          if (flag[k] !== KNOWN) continue
          const dir = Math.abs(-dx * gx - dy * gy) / (Math.sqrt(d2) * gn) + 1e-3
          const weight = dir / d2 / (1 + Math.abs(T[k]! - T[q]!))
          const o = at(k)
          r += weight * pixels[o]!
          g += weight * pixels[o + 1]!
          b += weight * pixels[o + 2]!
          sum += weight
        }
      }
      if (sum > 0) {
        const o = at(q)
        pixels[o] = Math.round(r / sum)
        pixels[o + 1] = Math.round(g / sum)
        pixels[o + 2] = Math.round(b / sum)
      }
      flag[q] = BAND
      heap.push(T[q]!, q)
    }
  }
}
