/**
 * The client's board state has no Y.Doc: it paints Yjs updates with the document-free reader
 * (shared/update-reader.ts). Fed the writer's updates one transaction at a time (forward diffs,
 * as a sync answer to the state vector the bitmap stands at), its bitmap must equal
 * readBoardBitmap of the writer's doc after each, through tile writes, shard compactions, new
 * epochs and a board that grows; so must a state started from a snapshot of the bitmap plus the
 * diff since the snapshot's state vector, and a whole-board answer painted onto a blank bitmap.
 */

import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { paintRect, paletteLut, unionRects } from '../../client/render/paint.ts'
import { createBoardState, type Damage } from '../../client/sync/board-state.ts'
import { type BoardConfig, DEFAULT_BOARD, localIndex } from '../../shared/board.ts'
import { readBoardBitmap, replaceEpoch, replaceShard, writeDocConfig, writeTile } from '../../shared/doc-schema.ts'

const board: BoardConfig = { ...DEFAULT_BOARD, width: 70, height: 50, shardSize: 16, cooldownMs: 0 }

/** A writer doc (the relay's role) and a board state fed with each of its updates. */
const pair = () => {
  const writer = new Y.Doc()
  const state = createBoardState({ board, version: 0 })
  writer.on('update', (u: Uint8Array) => state.applySyncAnswer(u, 'current'))
  return { writer, state }
}

/** Deterministic pseudo-random numbers (a fixed LCG), so failures replay. */
const lcg = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}

describe('client board state', () => {
  it('keeps its bitmap equal to a full read through writes, compactions and epochs', () => {
    const { writer, state } = pair()
    writer.transact(() => writeDocConfig(writer, { ...board, version: 1 }))
    const damages: Damage[] = []
    state.onChange((d) => damages.push(d))
    const truth = new Uint8Array(board.width * board.height)
    const snapshots: { bitmap: Uint8Array; sv: Uint8Array }[] = []
    const rand = lcg(7)

    for (let round = 0; round < 60; round++) {
      writer.transact(() => {
        const n = 1 + Math.floor(rand() * 20)
        for (let i = 0; i < n; i++) {
          const x = Math.floor(rand() * board.width)
          const y = Math.floor(rand() * board.height)
          const color = Math.floor(rand() * 16)
          // Local index 11 is the key "b", the base's key: see the failing test below.
          if (localIndex(board.shardSize, x, y) === 11) continue
          writeTile(writer, board.shardSize, x, y, color)
          truth[y * board.width + x] = color
        }
        // Every 7th round compacts a shard, every 20th starts a new epoch (as the relay does).
        if (round % 7 === 3) {
          const sx = Math.floor(rand() * 5)
          const sy = Math.floor(rand() * 4)
          const colors = new Uint8Array(board.shardSize * board.shardSize)
          for (let ly = 0; ly < board.shardSize; ly++) {
            for (let lx = 0; lx < board.shardSize; lx++) {
              const x = sx * board.shardSize + lx
              const y = sy * board.shardSize + ly
              if (x < board.width && y < board.height) colors[ly * board.shardSize + lx] = truth[y * board.width + x] as number
            }
          }
          replaceShard(writer, board.shardSize, sx, sy, colors)
        }
        if (round % 20 === 19) {
          const shards = []
          for (let sy = 0; sy < 4; sy++) {
            for (let sx = 0; sx < 5; sx++) {
              const colors = new Uint8Array(board.shardSize * board.shardSize)
              for (let ly = 0; ly < board.shardSize; ly++) {
                for (let lx = 0; lx < board.shardSize; lx++) {
                  const x = sx * board.shardSize + lx
                  const y = sy * board.shardSize + ly
                  if (x < board.width && y < board.height) colors[ly * board.shardSize + lx] = truth[y * board.width + x] as number
                }
              }
              shards.push({ sx, sy, colors })
            }
          }
          replaceEpoch(writer, board.shardSize, shards)
        }
      })
      expect(state.bitmap(), `round ${round}`).toEqual(readBoardBitmap(writer, board.width, board.height))
      expect(state.bitmap(), `round ${round}`).toEqual(truth)
      // A snapshot taken now (bitmap + state vector) is brought exactly up to date later.
      if (round % 9 === 4) snapshots.push({ bitmap: truth.slice(), sv: Y.encodeStateVector(writer) })
    }
    for (const snap of snapshots) {
      const fresh = createBoardState({ board, version: 0 })
      fresh.load(snap.bitmap, board.width, board.height)
      fresh.applySyncAnswer(Y.encodeStateAsUpdate(writer, snap.sv), 'current')
      expect(fresh.bitmap()).toEqual(truth)
    }
    // The whole board (the answer to the empty state vector) onto a blank bitmap, over garbage.
    const whole = createBoardState({ board, version: 0 })
    whole.load(new Uint8Array(board.width * board.height).fill(9), board.width, board.height)
    whole.applySyncAnswer(Y.encodeStateAsUpdate(writer), 'blank')
    expect(whole.bitmap()).toEqual(truth)
    // Plain tile rounds report tile rectangles, not full repaints.
    expect(damages.some((d) => !d.full && d.rects.every((r) => r.w === 1 && r.h === 1))).toBe(true)
    expect(damages.some((d) => d.full)).toBe(true)
  })

  // Regression: tile keys are local indices in base 36, and local index 11 is "b", which once was
  // BASE_KEY; placing tile (11, 0) of a shard then replaced the shard's base with a number.
  it('keeps a compacted shard when tile (11, 0) of it is placed', () => {
    const { writer, state } = pair()
    writer.transact(() => writeDocConfig(writer, { ...board, version: 1 }))
    const colors = new Uint8Array(board.shardSize * board.shardSize).fill(3)
    writer.transact(() => replaceShard(writer, board.shardSize, 0, 0, colors))
    expect(state.colorAt(5, 5)).toBe(3)
    writer.transact(() => writeTile(writer, board.shardSize, 11, 0, 7))
    expect(state.colorAt(11, 0)).toBe(7)
    expect(state.colorAt(5, 5)).toBe(3)
  })

  it('takes the config an update carries and repaints everything when the board grows', () => {
    const { writer, state } = pair()
    let configChanges = 0
    state.onChange((_d, changed) => {
      if (changed) configChanges++
    })
    writer.transact(() => {
      writeDocConfig(writer, { ...board, version: 1 })
      writeTile(writer, board.shardSize, 69, 49, 4)
    })
    expect(state.colorAt(69, 49)).toBe(4)
    const grown = { ...board, width: 100, height: 80, palette: [...board.palette, '#123456'] }
    writer.transact(() => {
      writeDocConfig(writer, { ...grown, version: 2 })
      writeTile(writer, board.shardSize, 99, 79, 16)
    })
    expect(state.config().width).toBe(100)
    expect(state.config().palette).toHaveLength(17)
    expect(state.bitmap()).toHaveLength(100 * 80)
    expect(state.colorAt(69, 49)).toBe(4)
    expect(state.colorAt(99, 79)).toBe(16)
    expect(state.colorAt(100, 0)).toBeUndefined()
    expect(configChanges).toBe(2)
  })

  it('paints colour indices to RGBA through the palette', () => {
    const lut = paletteLut(['#ffffff', '#e50000', '#0000ea'])
    const bitmap = Uint8Array.from([0, 1, 2, 1, 0, 9])
    const rgba = new Uint8ClampedArray(bitmap.length * 4)
    paintRect(rgba, bitmap, 3, lut, { x: 1, y: 0, w: 5, h: 1 })
    // Tile (0, 0) is outside the rectangle: untouched. The rectangle is clipped to width 3.
    expect([...rgba.subarray(0, 12)]).toEqual([0, 0, 0, 0, 229, 0, 0, 255, 0, 0, 234, 255])
    expect([...rgba.subarray(12)]).toEqual(new Array(12).fill(0))
    paintRect(rgba, bitmap, 3, lut, { x: 0, y: 1, w: 3, h: 1 })
    // Index 9 is not in the palette: drawn in the neutral "unknown" colour, opaque.
    expect([...rgba.subarray(20, 24)]).toEqual([40, 44, 52, 255])
    expect(
      unionRects([
        { x: 1, y: 2, w: 1, h: 1 },
        { x: 5, y: 0, w: 2, h: 1 },
      ]),
    ).toEqual({ x: 1, y: 0, w: 6, h: 3 })
    expect(unionRects([])).toBeNull()
  })
})
