import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { pickShardsToCompact, shouldStartEpoch } from '../../relay/compaction.ts'
import { readBoardBitmap, replaceEpoch, replaceShard, shardKeysOf, writeTile } from '../../shared/doc-schema.ts'
import { extractShardColors } from '../../shared/tile-codec.ts'

/** Counts the structs (items and GC ranges) a document keeps: what memory grows with. */
const structCount = (doc: Y.Doc) => {
  let n = 0
  for (const structs of doc.store.clients.values()) n += structs.length
  return n
}

describe('board document', () => {
  it('paints tiles, compacted shards and new epochs the same as a plain bitmap', () => {
    const width = 100
    const height = 70
    const size = 16
    const doc = new Y.Doc()
    const truth = new Uint8Array(width * height)
    let seed = 1
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    for (let round = 0; round < 5; round++) {
      doc.transact(() => {
        for (let i = 0; i < 500; i++) {
          const x = rand(width)
          const y = rand(height)
          const c = rand(16)
          writeTile(doc, size, x, y, c)
          truth[y * width + x] = c
        }
      })
      expect(readBoardBitmap(doc, width, height)).toEqual(truth)
      doc.transact(() => replaceShard(doc, size, 1, 1, extractShardColors(truth, width, height, size, 1, 1)))
      expect(readBoardBitmap(doc, width, height)).toEqual(truth)
    }
    const shards = shardKeysOf(doc).map((k) => {
      const [sx, sy] = k.split(',').map(Number) as [number, number]
      return { sx, sy, colors: extractShardColors(truth, width, height, size, sx, sy) }
    })
    doc.transact(() => replaceEpoch(doc, size, shards))
    expect(readBoardBitmap(doc, width, height)).toEqual(truth)

    // A second document fed only the updates converges to the same board.
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    expect(readBoardBitmap(copy, width, height)).toEqual(truth)
  })

  it('keeps memory bounded by the board when shards are replaced', () => {
    const doc = new Y.Doc()
    const bitmap = new Uint8Array(64 * 64)
    const counts: number[] = []
    for (let round = 0; round < 20; round++) {
      doc.transact(() => {
        for (let i = 0; i < 1000; i++) {
          const x = (i * 7 + round) % 64
          const y = (i * 13) % 64
          writeTile(doc, 32, x, y, (i + round) % 16)
          bitmap[y * 64 + x] = (i + round) % 16
        }
      })
      doc.transact(() => {
        for (const [sx, sy] of [
          [0, 0],
          [1, 0],
          [0, 1],
          [1, 1],
        ] as const) {
          replaceShard(doc, 32, sx, sy, extractShardColors(bitmap, 64, 64, 32, sx, sy))
        }
      })
      counts.push(structCount(doc))
    }
    // 20,000 writes; without compaction the document would keep one struct per write.
    expect(Math.max(...counts)).toBeLessThan(200)
    expect(readBoardBitmap(doc, 64, 64)).toEqual(bitmap)
  })
})

describe('compaction policy', () => {
  it('compacts shards at their limit, then the busiest over the total', () => {
    const writes = new Map([
      ['0,0', 100],
      ['1,0', 40],
      ['2,0', 30],
      ['3,0', 5],
    ])
    expect(pickShardsToCompact(writes, ['0,0', '3,0'], 175, { shardWrites: 100, totalWrites: 1000 })).toEqual(['0,0'])
    expect(pickShardsToCompact(writes, ['3,0'], 175, { shardWrites: 100, totalWrites: 1000 })).toEqual([])
    // Total over 100: compact the busiest until at most 75 remain.
    expect(pickShardsToCompact(writes, [], 175, { shardWrites: 1000, totalWrites: 100 })).toEqual(['0,0'])
    expect(pickShardsToCompact(writes, [], 175, { shardWrites: 1000, totalWrites: 50 })).toEqual(['0,0', '1,0'])
  })

  it('starts a new epoch only after many replacements', () => {
    expect(shouldStartEpoch(256, 10)).toBe(false)
    expect(shouldStartEpoch(257, 10)).toBe(true)
    expect(shouldStartEpoch(1000, 256)).toBe(false)
    expect(shouldStartEpoch(1025, 256)).toBe(true)
  })
})
