import { describe, expect, it } from 'vitest'
import { estimateLeft, expectedLeft, expectedStepMs, formatDuration } from '../../contracts/job-progress'

describe('the studio estimate of a running job time left', () => {
  const created = 1_000_000
  it('says nothing under 5 % done, nor once done', () => {
    expect(estimateLeft(created + 10_000, created, 0.04, null)).toBeNull()
    expect(estimateLeft(created + 10_000, created, 1, null)).toBeNull()
  })
  it('carries the pace seen on the page over the share left', () => {
    // Seen at 25 % at t = 20 s, 50 % at t = 30 s: 25 % per 10 s, so 20 s for the last half.
    expect(estimateLeft(created + 30_000, created, 0.5, { at: created + 20_000, fraction: 0.25 })).toBe(20_000)
  })
  it('before any progress on the page, takes the pace since the job was created (its queue wait counted too)', () => {
    // 25 % in 12 s since creation: 36 s for the rest; the page saw it at 25 % and nothing since.
    expect(estimateLeft(created + 12_000, created, 0.25, { at: created + 11_000, fraction: 0.25 })).toBe(36_000)
    expect(estimateLeft(created + 12_000, created, 0.25, null)).toBe(36_000)
  })
})

describe("the models' measured cost per megapixel: typical times and the first estimate", () => {
  const upscaler = { '2': 10_000, '4': 30_000, '8': 90_000 }
  const denoiser = { '1': 100_000 }
  it('costs each step on the size it runs at: a denoise after an x2 upscale works on 4x the pixels', () => {
    const photo = { width: 1000, height: 500 } // 0.5 MP
    expect(expectedStepMs(photo, [{ options: {}, msPerMegapixel: denoiser }])).toEqual([50_000])
    expect(
      expectedStepMs(photo, [
        { options: { scale: 2 }, msPerMegapixel: upscaler },
        { options: {}, msPerMegapixel: denoiser },
      ]),
    ).toEqual([5_000, 200_000])
  })
  it('prices a target width at the smallest measured scale that reaches it, and says null without a figure', () => {
    const photo = { width: 1000, height: 1000 }
    expect(expectedStepMs(photo, [{ options: { width: 3000 }, msPerMegapixel: upscaler }])).toEqual([30_000]) // x3 runs the x4 network
    expect(expectedStepMs(photo, [{ options: { width: 9000 }, msPerMegapixel: upscaler }])).toEqual([90_000]) // beyond x8: the largest
    expect(expectedStepMs(photo, [{ options: { scale: 2 } }])).toEqual([null])
  })
  it('leaves the finished steps out and the running one by its share still to do', () => {
    const steps = [
      { status: 'succeeded' as const, progress: { done: 4, total: 4 } },
      { status: 'running' as const, progress: { done: 1, total: 4 } },
      { status: 'pending' as const, progress: null },
    ]
    expect(expectedLeft([5_000, 40_000, 10_000], steps)).toBe(40_000)
    expect(expectedLeft([5_000, null, 10_000], steps)).toBeNull()
  })
  it('reads as people say it', () => {
    expect(formatDuration(400)).toBe('under a second')
    expect(formatDuration(12_400)).toBe('about 12 s')
    expect(formatDuration(150_000)).toBe('about 3 min')
    expect(formatDuration(2 * 3600_000)).toBe('about 2 h')
  })
})
