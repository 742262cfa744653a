/**
 * The relay's document stays bounded by the board, not by its history: compaction and epochs keep
 * the struct count (what heap and encoded state grow with) in a sawtooth whatever the number of
 * placements. Driven through room.place, as the transports do, without sockets (the figure here
 * is memory, not the wire).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import * as Y from 'yjs'
import { COMPACT_EVERY } from '../../relay/doc-updates.ts'
import type { Room } from '../../relay/room.ts'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { randomInts } from '../helpers/prng.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'

let relay: TestRelay
let room: Room
beforeAll(async () => {
  relay = await startTestRelay({
    env: {
      BOARD_COOLDOWN_MS: '0',
      BOARD_WIDTH: '128',
      BOARD_HEIGHT: '96',
      BOARD_SHARD_SIZE: '16',
      COMPACT_SHARD_WRITES: '16',
    },
  })
  room = relay.rooms.get('main') as Room
})
afterAll(async () => {
  await relay.stop()
})

const structCount = (doc: Y.Doc) => {
  let n = 0
  for (const structs of doc.store.clients.values()) n += structs.length
  return n
}

it('keeps the document bounded over 40,000 placements', async () => {
  const rand = randomInts(1)
  const counts: number[] = []
  for (let round = 0; round < 40; round++) {
    const batch = Array.from({ length: 1000 }, (_, i) =>
      room.place({ x: rand(128), y: rand(96), color: rand(16) }, { user: `u${i % 50}`, ip: '127.0.0.1', isAdmin: false }),
    )
    const results = await Promise.all(batch)
    expect(results.every((r) => r.ok)).toBe(true)
    counts.push(structCount(room.doc))
  }
  // 40,000 placements over a 12,288-tile board. The bound depends on the board (48 shards, 16
  // writes each, an epoch every 256 replacements), not on the number of placements: the second
  // half of the run peaks no higher than the first half did, with slack for randomness.
  const firstHalf = Math.max(...counts.slice(0, 20))
  const secondHalf = Math.max(...counts.slice(20))
  expect(secondHalf).toBeLessThan(firstHalf * 1.5)
  expect(secondHalf).toBeLessThan(40_000 / 10)
  // And the encoded state is small: far below one struct per placement.
  expect(Y.encodeStateAsUpdate(room.doc).length).toBeLessThan(64 * 1024)
  expect(sameBytes(readBoardBitmap(room.doc, 128, 96), room.bitmap())).toBe(true)
})

it('keeps the stored document to a bounded number of updates, one commit at a time', async () => {
  // One commit per placement: 1,300 stored updates without compaction.
  for (let i = 0; i < 1300; i++) {
    const r = await room.place({ x: i % 128, y: 5, color: (i % 15) + 1 }, { user: 'solo', ip: '127.0.0.1', isAdmin: false })
    expect(r.ok).toBe(true)
  }
  // Each commit's update is stored in its own batch: what is stored loads into exactly the board
  // as soon as the last placement is acknowledged.
  const reloaded = await relay.stores.history.readDoc('main')
  expect(sameBytes(readBoardBitmap(reloaded, 128, 96), room.bitmap())).toBe(true)
  reloaded.destroy()
  // Compaction replaced them: at most COMPACT_EVERY keys (the state and the updates after it).
  const stored = await relay.stores.history.storedDocUpdates('main')
  expect(stored).toBeGreaterThan(0)
  expect(stored).toBeLessThanOrEqual(COMPACT_EVERY)
})
