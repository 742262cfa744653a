import { describe, expect, it } from 'vitest'
import { createSeqPositions } from '../../relay/seq-positions.ts'

describe('seq positions', () => {
  it('finds the seq of a recorded state by its version and writer clock', () => {
    const p = createSeqPositions()
    p.record(10, 0, 1, 10)
    p.record(15, 5, 1, 15)
    p.record(18, 7, 2, 3)
    expect(p.seqOf(new Map([[1, 10]]))).toBe(0)
    expect(p.seqOf(new Map([[1, 15]]))).toBe(5)
    expect(
      p.seqOf(
        new Map([
          [1, 15],
          [2, 3],
        ]),
      ),
    ).toBe(7)
    // Same version, other clocks: not this document's state.
    expect(p.seqOf(new Map([[1, 18]]))).toBeNull()
    expect(
      p.seqOf(
        new Map([
          [1, 12],
          [2, 3],
        ]),
      ),
    ).toBeNull()
    // A version between or beyond the recorded ones.
    expect(p.seqOf(new Map([[1, 16]]))).toBeNull()
    expect(
      p.seqOf(
        new Map([
          [1, 15],
          [2, 9],
        ]),
      ),
    ).toBeNull()
  })

  it('keeps the later seq for a repeated version and refuses a version going back', () => {
    const p = createSeqPositions()
    p.record(4, 1, 1, 4)
    p.record(4, 2, 1, 4)
    expect(p.seqOf(new Map([[1, 4]]))).toBe(2)
    expect(() => p.record(3, 3, 1, 3)).toThrow(/went back/)
  })

  it('drops the oldest half when full', () => {
    const p = createSeqPositions(8)
    for (let i = 1; i <= 9; i++) p.record(i, i, 1, i)
    expect(p.size()).toBe(5)
    expect(p.seqOf(new Map([[1, 4]]))).toBeNull()
    expect(p.seqOf(new Map([[1, 5]]))).toBe(5)
    expect(p.seqOf(new Map([[1, 9]]))).toBe(9)
  })
})
