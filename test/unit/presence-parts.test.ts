/** shared/presence-parts.ts: a relay's presence in as many messages as max_payload needs, taken only whole. */
import { describe, expect, it } from 'vitest'
import { createPresenceAssembler, PRESENCE_HEADROOM_BYTES, presenceHashesPerMessage, splitPresence } from '../../shared/presence-parts.ts'
import { decodePresenceMessage, encodePresenceMessage, PRESENCE_HASH_BYTES } from '../../shared/stream-messages.ts'

const hash = (i: number) => {
  const h = new Uint8Array(PRESENCE_HASH_BYTES)
  new DataView(h.buffer).setUint32(0, i)
  return h
}
const hashes = (from: number, n: number) => Array.from({ length: n }, (_, i) => hash(from + i))

describe('presence in parts', () => {
  it('fits each message in max_payload: 8,160 hashes at 64 KiB, 131,040 at 1 MiB', () => {
    expect(presenceHashesPerMessage(65_536)).toBe(8_160)
    expect(presenceHashesPerMessage(1024 * 1024)).toBe(131_040)
    const per = presenceHashesPerMessage(65_536)
    const messages = splitPresence({ relay: 'a1b2c3d4e5f60718', round: 123_456, hashes: hashes(0, 20_000) }, per)
    expect(messages.map((m) => [m.index, m.count, m.total, m.hashes.length])).toEqual([
      [0, 3, 20_000, 8_160],
      [1, 3, 20_000, 8_160],
      [2, 3, 20_000, 3_680],
    ])
    for (const m of messages) {
      const bytes = encodePresenceMessage(m)
      expect(bytes.length).toBeLessThanOrEqual(65_536)
      // A full message uses what the envelope leaves.
      if (m.index < 2) expect(bytes.length).toBeGreaterThan(65_536 - PRESENCE_HEADROOM_BYTES)
      expect(decodePresenceMessage(bytes)).toEqual(m)
    }
    // Nobody: one message that says so.
    expect(splitPresence({ relay: 'a', round: 1, hashes: [] }, per)).toEqual([
      { relay: 'a', round: 1, index: 0, count: 1, total: 0, hashes: [] },
    ])
  })

  it('gives a relay’s people only from a whole round; a round that lost a message gives nothing', () => {
    const assembler = createPresenceAssembler()
    const first = splitPresence({ relay: 'a', round: 1, hashes: hashes(0, 25) }, 10)
    const second = splitPresence({ relay: 'a', round: 2, hashes: hashes(100, 25) }, 10)
    const other = splitPresence({ relay: 'b', round: 9, hashes: hashes(500, 15) }, 10)
    // Round 1 loses its middle message; relay b's messages interleave with a's.
    expect(assembler.add(first[0] as (typeof first)[number])).toBeNull()
    expect(assembler.add(other[0] as (typeof other)[number])).toBeNull()
    expect(assembler.add(first[2] as (typeof first)[number])).toBeNull()
    const b = assembler.add(other[1] as (typeof other)[number])
    expect(b?.relay).toBe('b')
    expect(b?.hashes).toEqual(hashes(500, 15))
    // A message that is not a round's first, with none in progress, starts nothing.
    expect(assembler.add(second[1] as (typeof second)[number])).toBeNull()
    const whole = second.map((m) => assembler.add(m))
    expect(whole.slice(0, -1)).toEqual([null, null])
    expect(whole[2]).toEqual({ relay: 'a', total: 25, hashes: hashes(100, 25) })
    // Forgotten (the relay expired): its round in progress is dropped.
    assembler.add(first[0] as (typeof first)[number])
    assembler.forget('a')
    expect(assembler.add(first[1] as (typeof first)[number])).toBeNull()
  })
})
