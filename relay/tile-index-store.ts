/**
 * The tile index (relay/tile-index.ts) on disk: each board's index is loaded on first use from
 * its chunks and the records after them, kept current by each append, and written back as
 * changed chunks every INDEX_FLUSH_MS, outside the commit path, with meta indexSeq (the last seq
 * the chunks on disk hold).
 */

import type { PlacementRecord } from '../shared/placement-record.ts'
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, type BoardPrefixes, chunkKey, encodeVarUint, nameKey, rangeEnd } from './history-keys.ts'
import { createTileIndex, type TileIndex } from './tile-index.ts'

/** How often changed tile index chunks are written, ms (a restart replays at most this much history into the index). */
export const INDEX_FLUSH_MS = 5_000
/** Tile index chunks (16 KB each) written per LevelDB batch. */
const INDEX_FLUSH_CHUNKS = 256

/** A chunk's seqs as stored: u32 LE each, row-major. */
const encodeChunk = (seqs: Uint32Array): Uint8Array => {
  const out = new Uint8Array(seqs.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < seqs.length; i++) view.setUint32(i * 4, seqs[i] as number, true)
  return out
}

const decodeChunk = (bytes: Uint8Array): Uint32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const seqs = new Uint32Array(bytes.byteLength / 4)
  for (let i = 0; i < seqs.length; i++) seqs[i] = view.getUint32(i * 4, true)
  return seqs
}

/** A board's tile index with the last seq it holds. */
export type BoardIndex = { tiles: TileIndex; seq: number; flushedAt: number; flushing: Promise<void> | null }

export type TileIndexStore = {
  /** A board's index, loaded on first use. */
  indexOf: (board: string) => Promise<BoardIndex>
  /** Takes a commit's records (durable now) into the index; writes the changed chunks if INDEX_FLUSH_MS have passed. */
  appended: (board: string, index: BoardIndex, records: readonly PlacementRecord[]) => void
  /** Writes every loaded index's changed chunks (before the database closes). */
  flushAll: () => Promise<void>
}

export const createTileIndexStore = (
  db: HistoryLevel,
  prefixesOf: (board: string) => BoardPrefixes,
  deps: {
    sync: boolean
    readMeta: (board: string, name: string, fallback: number) => Promise<number>
    recordsAfter: (board: string, afterSeq: number) => AsyncIterable<PlacementRecord>
    /** Told when a chunk write failed (the database needs reopening before the next write). */
    markFailed: () => void
  },
): TileIndexStore => {
  const indexes = new Map<string, Promise<BoardIndex>>()

  const loadIndex = async (board: string): Promise<BoardIndex> => {
    const p = prefixesOf(board)
    const tiles = createTileIndex()
    for await (const [key, value] of db.iterator({ gte: p.index, lt: rangeEnd(p.index) })) {
      tiles.loadChunk(new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(p.index.length), decodeChunk(value))
    }
    let seq = await deps.readMeta(board, 'indexSeq', 0)
    // Records after the chunks on disk (at most INDEX_FLUSH_MS of placements, or all of a
    // history written before the index existed).
    for await (const r of deps.recordsAfter(board, seq)) {
      tiles.set(r.x, r.y, r.seq)
      seq = r.seq
    }
    return { tiles, seq, flushedAt: Date.now(), flushing: null }
  }

  const indexOf = (board: string): Promise<BoardIndex> => {
    let index = indexes.get(board)
    if (!index) {
      index = loadIndex(board)
      indexes.set(board, index)
      index.catch(() => indexes.delete(board))
    }
    return index
  }

  /**
   * Writes the index chunks changed since the last flush, then the seq they hold at least, in
   * batches of INDEX_FLUSH_CHUNKS (a whole 4096 x 4096 board is 64 MB of chunks: encoded a batch
   * at a time, it never needs more than 4 MB at once). A chunk may hold seqs beyond the seq
   * written: the records behind them are durable, and an open replays them again anyway.
   */
  const flushIndex = (board: string, index: BoardIndex): Promise<void> => {
    if (index.flushing) return index.flushing
    const p = prefixesOf(board)
    const chunks = [...index.tiles.takeDirty()]
    const seq = index.seq
    index.flushedAt = Date.now()
    if (chunks.length === 0) return Promise.resolve()
    index.flushing = (async () => {
      for (let i = 0; i < chunks.length; i += INDEX_FLUSH_CHUNKS) {
        const ops: BatchOp[] = []
        for (const [chunk, seqs] of chunks.slice(i, i + INDEX_FLUSH_CHUNKS)) {
          ops.push({ type: 'put', key: chunkKey(p.index, chunk), value: encodeChunk(seqs) })
        }
        if (i + INDEX_FLUSH_CHUNKS >= chunks.length) ops.push({ type: 'put', key: nameKey(p.meta, 'indexSeq'), value: encodeVarUint(seq) })
        await db.batch(ops, { sync: deps.sync })
      }
    })()
      .catch(() => {
        // The records are durable; the chunks are written again at the next flush (or rebuilt
        // from the records on the next open).
        index.tiles.markDirty(chunks.map(([chunk]) => chunk))
        deps.markFailed()
      })
      .finally(() => {
        index.flushing = null
      })
    return index.flushing
  }

  return {
    indexOf,
    appended: (board, index, records) => {
      for (const r of records) index.tiles.set(r.x, r.y, r.seq)
      const last = records[records.length - 1]
      if (last) index.seq = last.seq
      if (Date.now() - index.flushedAt >= INDEX_FLUSH_MS) void flushIndex(board, index)
    },
    flushAll: async () => {
      // Chunks written now spare the next open a replay of the history since the last flush.
      for (const [board, index] of indexes) {
        const loaded = await index.catch(() => null)
        if (!loaded) continue
        await loaded.flushing
        await flushIndex(board, loaded)
      }
    },
  }
}
