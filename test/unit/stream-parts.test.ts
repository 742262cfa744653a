/** shared/stream-parts.ts: a message cut into parts and put together again, and incomplete sets dropped. */
import { describe, expect, it } from 'vitest'
import { createPartAssembler, decodePart, isPart, splitMessage } from '../../shared/stream-parts.ts'

const message = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 251)

describe('stream parts', () => {
  it('leave a message that fits as it is', () => {
    expect(splitMessage(message(100), 100, 't:1')).toBeNull()
  })

  it('cut a larger message into numbered pieces that put together give it back', () => {
    const whole = message(1000)
    const parts = splitMessage(whole, 300, 't:1') as Uint8Array[]
    expect(parts.length).toBe(4)
    expect(parts.every(isPart)).toBe(true)
    const decoded = parts.map(decodePart)
    expect(decoded.map((p) => [p.index, p.count, p.set, p.bytes.length])).toEqual([
      [0, 4, 't:1', 300],
      [1, 4, 't:1', 300],
      [2, 4, 't:1', 300],
      [3, 4, 't:1', 100],
    ])
    const assembler = createPartAssembler()
    const results = decoded.map((p) => assembler.add(p))
    expect(results.every((r) => !r.orphan)).toBe(true)
    expect(results.slice(0, 3).map((r) => r.whole)).toEqual([null, null, null])
    expect(results[3]?.whole).toEqual(whole)
    expect(results.every((r) => r.dropped === 0)).toBe(true)
  })

  it('drop an incomplete set that another set or message interrupts', () => {
    const a = (splitMessage(message(900), 300, 'a:1') as Uint8Array[]).map(decodePart)
    const b = (splitMessage(message(600), 300, 'b:1') as Uint8Array[]).map(decodePart)
    const assembler = createPartAssembler()
    assembler.add(a[0] as (typeof a)[number])
    assembler.add(a[1] as (typeof a)[number])
    // A writer that stopped in the middle of set a, then started set b.
    expect(assembler.add(b[0] as (typeof b)[number])).toEqual({ whole: null, dropped: 2, orphan: false })
    expect(assembler.add(b[1] as (typeof b)[number]).whole).toEqual(message(600))
    // A part that is not a set's first, with no set in progress: dropped.
    expect(assembler.add(a[2] as (typeof a)[number])).toEqual({ whole: null, dropped: 1, orphan: true })
    assembler.add(a[0] as (typeof a)[number])
    expect(assembler.interrupt()).toBe(1)
  })

  it('tell parts from Commit and State messages', () => {
    expect(isPart(Uint8Array.of(1, 0, 0))).toBe(false)
    expect(isPart(Uint8Array.of(1, 1, 0))).toBe(false)
  })
})
