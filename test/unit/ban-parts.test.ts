/** The bans list in parts (relay/ban-exchange.ts): never mistaken for a Part, and adopted only whole. */
import { describe, expect, it } from 'vitest'
import { type BanEntry, decodeBans, encodeBans } from '../../shared/stream-messages.ts'
import { createPartAssembler, decodePart, isPart, splitMessage } from '../../shared/stream-parts.ts'

const bans: BanEntry[] = Array.from({ length: 300 }, (_, i) => ({ kind: 'user', target: `user-${i}`, reason: 'x'.repeat(100), at: i }))

describe('a bans list in parts', () => {
  it('is never taken for a Part when whole, even empty', () => {
    expect(isPart(encodeBans([]))).toBe(false)
    expect(isPart(encodeBans(bans))).toBe(false)
  })

  it('gives a list only from every part of one set: a set that lost a part gives none', () => {
    const bytes = encodeBans(bans)
    const first = (splitMessage(bytes, 8_000, 'w:1') as Uint8Array[]).map(decodePart)
    const second = (splitMessage(bytes, 8_000, 'w:2') as Uint8Array[]).map(decodePart)
    expect(first.length).toBeGreaterThan(3)
    const assembler = createPartAssembler()
    // The first set loses its second part (a reconnect in the middle): no list, not half of one.
    const got = first.filter((_, i) => i !== 1).map((p) => assembler.add(p).whole)
    expect(got.every((w) => w === null)).toBe(true)
    const whole = second.map((p) => assembler.add(p).whole)
    expect(whole.slice(0, -1).every((w) => w === null)).toBe(true)
    expect(decodeBans(whole[whole.length - 1] as Uint8Array)).toEqual(bans)
  })
})
