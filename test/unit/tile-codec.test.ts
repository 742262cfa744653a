import { describe, expect, it } from 'vitest'
import { MAX_BOARD_SIDE } from '../../shared/board.ts'
import {
  decodeShardBase,
  decodeTileValue,
  encodeShardBase,
  encodeTileValue,
  extractShardColors,
  isTileValue,
  paintShardBase,
} from '../../shared/tile-codec.ts'

describe('tile values', () => {
  it('round-trip and stay below 2^31 (Yjs varint range)', () => {
    for (const [x, y, c] of [
      [0, 0, 0],
      [999, 999, 15],
      [MAX_BOARD_SIDE - 1, MAX_BOARD_SIDE - 1, 31],
      [4095, 17, 7],
    ] as const) {
      const v = encodeTileValue(x, y, c)
      expect(v).toBeLessThan(2 ** 31)
      expect(isTileValue(v)).toBe(true)
      expect(decodeTileValue(v)).toEqual({ x, y, color: c })
    }
    expect(isTileValue(2 ** 31)).toBe(false)
    expect(isTileValue(-1)).toBe(false)
    expect(isTileValue(1.5)).toBe(false)
    expect(isTileValue('3')).toBe(false)
  })
})

describe('shard bases', () => {
  it('name their own shard and round-trip', () => {
    const colors = new Uint8Array(16 * 16).map((_, i) => i % 16)
    const bytes = encodeShardBase({ sx: 3, sy: 200, shardSize: 16, colors })
    const base = decodeShardBase(bytes)
    expect(base?.sx).toBe(3)
    expect(base?.sy).toBe(200)
    expect(base?.shardSize).toBe(16)
    expect([...(base?.colors ?? [])]).toEqual([...colors])
  })

  it('reject bytes that are not a base', () => {
    const good = encodeShardBase({ sx: 0, sy: 0, shardSize: 16, colors: new Uint8Array(256) })
    expect(decodeShardBase(good.subarray(0, good.length - 1))).toBeNull()
    expect(decodeShardBase(new Uint8Array([1, 2, 3]))).toBeNull()
    const wrongMagic = good.slice()
    wrongMagic[0] = 0
    expect(decodeShardBase(wrongMagic)).toBeNull()
    expect(() => encodeShardBase({ sx: 0, sy: 0, shardSize: 16, colors: new Uint8Array(10) })).toThrow()
  })

  it('paint into and extract from a board bitmap, clipping at the edges', () => {
    const width = 20
    const height = 18
    const bitmap = new Uint8Array(width * height)
    const colors = new Uint8Array(16 * 16).fill(5)
    paintShardBase(bitmap, width, height, { sx: 1, sy: 1, shardSize: 16, colors })
    expect(bitmap[16 * width + 16]).toBe(5)
    expect(bitmap[17 * width + 19]).toBe(5)
    expect(bitmap[15 * width + 19]).toBe(0)
    const back = extractShardColors(bitmap, width, height, 16, 1, 1)
    expect(back[0]).toBe(5)
    expect(back[1 * 16 + 3]).toBe(5)
    expect(back[2 * 16]).toBe(0) // row 2 of the shard is y = 18: outside the board
    expect(back[4]).toBe(0) // column 4 of the shard is x = 20: outside the board
  })
})
