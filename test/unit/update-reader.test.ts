/**
 * The update reader against real Yjs documents written with the board schema: a bitmap at state
 * vector S plus the diff since S must equal the board, through placements, shard compactions,
 * epoch changes, a writer restart (new client id) and growth of the board.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DEFAULT_BOARD } from '../../shared/board.ts'
import {
  type DocConfig,
  readBoardBitmap,
  replaceEpoch,
  replaceShard,
  shardKeysOf,
  writeDocConfig,
  writeTile,
} from '../../shared/doc-schema.ts'
import { extractShardColors } from '../../shared/tile-codec.ts'
import {
  advanceStateVector,
  applyUpdateToBitmap,
  type BoardBitmap,
  decodeStateVector,
  encodeStateVector,
  growBitmap,
  readBoardUpdate,
  stateVectorSum,
} from '../../shared/update-reader.ts'
import { prng } from '../helpers/prng.ts'

type Board = { doc: Y.Doc; config: DocConfig }

const newBoard = (width: number, height: number, shardSize = 16): Board => {
  const doc = new Y.Doc()
  const config: DocConfig = { ...DEFAULT_BOARD, width, height, shardSize, version: 1 }
  doc.transact(() => writeDocConfig(doc, config))
  return { doc, config }
}

/** One transaction of random placements, sometimes with a shard compaction or a new epoch. */
const randomCommit = (b: Board, rand: () => number, placements: number, opts: { compact?: boolean; epoch?: boolean } = {}) => {
  const { doc, config } = b
  doc.transact(() => {
    for (let i = 0; i < placements; i++) {
      const x = Math.floor(rand() * config.width)
      const y = Math.floor(rand() * config.height)
      writeTile(doc, config.shardSize, x, y, Math.floor(rand() * 16))
    }
    const bitmap = readBoardBitmap(doc, config.width, config.height)
    if (opts.compact) {
      const keys = shardKeysOf(doc)
      const key = keys[Math.floor(rand() * keys.length)]
      if (key) {
        const [sx, sy] = key.split(',').map(Number) as [number, number]
        replaceShard(doc, config.shardSize, sx, sy, extractShardColors(bitmap, config.width, config.height, config.shardSize, sx, sy))
      }
    }
    if (opts.epoch) {
      const shards = shardKeysOf(doc).map((key) => {
        const [sx, sy] = key.split(',').map(Number) as [number, number]
        return { sx, sy, colors: extractShardColors(bitmap, config.width, config.height, config.shardSize, sx, sy) }
      })
      replaceEpoch(doc, config.shardSize, shards)
    }
  })
}

const snapshotOf = (b: Board): { board: BoardBitmap; sv: Uint8Array } => ({
  board: { bitmap: readBoardBitmap(b.doc, b.config.width, b.config.height), width: b.config.width, height: b.config.height },
  sv: Y.encodeStateVector(b.doc),
})

const mismatches = (a: Uint8Array, b: Uint8Array): number => {
  let n = 0
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) n++
  return n
}

describe('update reader', () => {
  it('paints a full state from nothing exactly', () => {
    const rand = prng(1)
    const b = newBoard(100, 70)
    for (let i = 0; i < 20; i++) randomCommit(b, rand, 200, { compact: i % 3 === 0, epoch: i === 10 })
    const { board, update } = applyUpdateToBitmap({ bitmap: new Uint8Array(0), width: 0, height: 0 }, Y.encodeStateAsUpdate(b.doc))
    expect(update.config?.width).toBe(100)
    expect([board.width, board.height]).toEqual([100, 70])
    expect(mismatches(board.bitmap, readBoardBitmap(b.doc, 100, 70))).toBe(0)
  })

  it('snapshot + forward diff equals the board through compactions, epochs and a writer restart', () => {
    for (const seed of [2, 3, 4, 5]) {
      const rand = prng(seed)
      let b = newBoard(97, 61)
      for (let i = 0; i < 10; i++) randomCommit(b, rand, 150, { compact: rand() < 0.4 })
      const snap = snapshotOf(b)
      for (let i = 0; i < 30; i++) {
        randomCommit(b, rand, 100, { compact: rand() < 0.5, epoch: i === 12 || i === 25 })
        if (i === 18) {
          // A relay restart: the document reloaded into a fresh Y.Doc writes with a new client id.
          const next = new Y.Doc()
          Y.applyUpdate(next, Y.encodeStateAsUpdate(b.doc))
          b = { doc: next, config: b.config }
        }
      }
      const diff = Y.encodeStateAsUpdate(b.doc, snap.sv)
      const { board } = applyUpdateToBitmap(snap.board, diff)
      expect(mismatches(board.bitmap, readBoardBitmap(b.doc, 97, 61))).toBe(0)
    }
  })

  it('incremental updates applied in order keep the board exact and the state vector in step', () => {
    const rand = prng(7)
    const b = newBoard(64, 64)
    randomCommit(b, rand, 300)
    const snap = snapshotOf(b)
    let board = snap.board
    const sv = decodeStateVector(snap.sv)
    b.doc.on('update', (u: Uint8Array) => {
      const r = applyUpdateToBitmap(board, u)
      board = r.board
      advanceStateVector(sv, r.update.ranges)
    })
    for (let i = 0; i < 40; i++) randomCommit(b, rand, 1 + Math.floor(rand() * 50), { compact: rand() < 0.3, epoch: i === 20 })
    expect(mismatches(board.bitmap, readBoardBitmap(b.doc, 64, 64))).toBe(0)
    expect(encodeStateVector(sv)).toEqual(Y.encodeStateVector(b.doc))
    expect(stateVectorSum(sv)).toBe(stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(b.doc))))
  })

  it('a state vector does not advance over a gap (a missed update)', () => {
    const sv = new Map([[1, 10]])
    advanceStateVector(sv, new Map([[1, { from: 12, to: 20 }]]))
    expect(sv.get(1)).toBe(10)
    advanceStateVector(sv, new Map([[1, { from: 10, to: 12 }]]))
    expect(sv.get(1)).toBe(12)
    advanceStateVector(sv, new Map([[2, { from: 0, to: 3 }]]))
    expect(sv.get(2)).toBe(3)
  })

  it('reports a grown board and paints tiles in the new area', () => {
    const rand = prng(9)
    const b = newBoard(40, 30)
    randomCommit(b, rand, 100)
    const snap = snapshotOf(b)
    const grown: DocConfig = { ...b.config, width: 72, height: 50, version: 2 }
    b.doc.transact(() => writeDocConfig(b.doc, grown))
    b.config = grown
    randomCommit(b, rand, 400)
    const { board, update } = applyUpdateToBitmap(snap.board, Y.encodeStateAsUpdate(b.doc, snap.sv))
    expect(update.config).toMatchObject({ width: 72, height: 50, version: 2 })
    expect([board.width, board.height]).toEqual([72, 50])
    expect(mismatches(board.bitmap, readBoardBitmap(b.doc, 72, 50))).toBe(0)
  })

  it('skips values its own delete set marks deleted', () => {
    const b = newBoard(16, 16)
    const snap = snapshotOf(b)
    b.doc.transact(() => {
      writeTile(b.doc, 16, 3, 4, 5)
      writeTile(b.doc, 16, 3, 4, 6)
    })
    const decoded = readBoardUpdate(Y.encodeStateAsUpdate(b.doc, snap.sv))
    expect(decoded.tiles).toHaveLength(1)
    const { board } = applyUpdateToBitmap(snap.board, Y.encodeStateAsUpdate(b.doc, snap.sv))
    expect(board.bitmap[4 * 16 + 3]).toBe(6)
  })

  it('reads the same struct ranges as Y.decodeUpdate, including other content kinds', () => {
    const doc = new Y.Doc()
    doc.transact(() => {
      doc.getText('t').insert(0, 'héllo wörld')
      doc.getArray('a').push([1, 'two', { three: 3 }, new Uint8Array([4])])
      doc.getXmlFragment('x').insert(0, [new Y.XmlElement('p'), new Y.XmlText('text')])
      doc.getMap('m').set('n', 5)
    })
    doc.getText('t').format(0, 3, { bold: true })
    doc.getText('t').delete(2, 3)
    const update = Y.encodeStateAsUpdate(doc)
    const ours = readBoardUpdate(update)
    const theirs = Y.decodeUpdate(update)
    const to = Math.max(...theirs.structs.map((s) => s.id.clock + s.length))
    expect(ours.ranges.get(doc.clientID)).toEqual({ from: 0, to })
  })

  it('grows a bitmap keeping rows in place', () => {
    const g = growBitmap({ bitmap: new Uint8Array([1, 2, 3, 4]), width: 2, height: 2 }, 3, 3)
    expect([...g.bitmap]).toEqual([1, 2, 0, 3, 4, 0, 0, 0, 0])
  })
})
