import { describe, expect, it } from 'vitest'
import { type FoundText, mergeDetections } from '../../inference/models/text-removal'

const line = (text: string, box: FoundText['box']): FoundText => ({ text, box, score: 0.9, confidence: 0.9 })

describe('mergeDetections (the first and the enlarged look)', () => {
  const whole = line('SAMPLE', [100, 100, 300, 130])

  it('adds the second look where the first found nothing, and keeps both looks of different lines', () => {
    const other = line('caption', [10, 200, 200, 230])
    expect(mergeDetections([other], [whole]).map((f) => f.text)).toEqual(['caption', 'SAMPLE'])
  })

  it("puts the second look's whole line in place of the first's pieces inside it", () => {
    const pieces = [line('SA', [100, 102, 140, 128]), line('PLE', [240, 102, 300, 128])]
    expect(mergeDetections(pieces, [whole])).toEqual([whole])
  })

  it("keeps the first look's line when it already covers the second's, or only overlaps it in part", () => {
    const same = line('SAMPLE.', [98, 99, 302, 131])
    expect(mergeDetections([same], [whole])).toEqual([same])
    const across = line('AMPLE and more', [200, 95, 500, 135])
    expect(mergeDetections([across], [whole])).toEqual([across])
  })
})
