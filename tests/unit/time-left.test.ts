import { describe, expect, it } from 'vitest'
import { estimateLeft } from '../../contracts/job-progress'

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
