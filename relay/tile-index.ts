/**
 * The latest history seq of every tile of one board, in memory: what "who placed this tile"
 * and a tile's history start from (each record then names the previous seq on its tile).
 *
 * Tiles are grouped in chunks of 64 x 64, allocated when first written, so that a board costs
 * 4 bytes per tile of the area painted (4 MB for 1000 x 1000, 64 MB for 4096 x 4096) and growth
 * needs no copy. Chunks are also the unit written to disk (relay/tile-index-store.ts). Seqs are
 * u32: a board holds at most 4,294,967,295 history records (r/place 2017: 16.5 M).
 */
import { MAX_BOARD_SIDE } from '../shared/board.ts'

/** Tiles along a chunk's side. */
export const CHUNK_SIDE = 64
/** Tiles in a chunk. */
export const CHUNK_TILES = CHUNK_SIDE * CHUNK_SIDE
/** Largest seq a tile index holds. */
export const MAX_INDEXED_SEQ = 0xffff_ffff
const CHUNKS_PER_ROW = MAX_BOARD_SIDE / CHUNK_SIDE

export type TileIndex = {
  /** Latest seq written on the tile, 0 if none. */
  get: (x: number, y: number) => number
  set: (x: number, y: number, seq: number) => void
  /**
   * Chunks changed since the last `takeDirty`: chunk number -> its live seqs (row-major; not a
   * copy: encode them before the next `set` matters).
   */
  takeDirty: () => Map<number, Uint32Array>
  /** Marks chunks dirty again (their write failed). */
  markDirty: (chunks: Iterable<number>) => void
  /** Loads a chunk read from disk. */
  loadChunk: (chunk: number, seqs: Uint32Array) => void
}

export const createTileIndex = (): TileIndex => {
  const chunks = new Map<number, Uint32Array>()
  const dirty = new Set<number>()
  const chunkOf = (x: number, y: number) => Math.floor(y / CHUNK_SIDE) * CHUNKS_PER_ROW + Math.floor(x / CHUNK_SIDE)
  const offsetOf = (x: number, y: number) => (y % CHUNK_SIDE) * CHUNK_SIDE + (x % CHUNK_SIDE)
  return {
    get: (x, y) => chunks.get(chunkOf(x, y))?.[offsetOf(x, y)] ?? 0,
    set: (x, y, seq) => {
      if (seq > MAX_INDEXED_SEQ) throw new Error(`tile index: seq ${seq} is beyond ${MAX_INDEXED_SEQ}`)
      const c = chunkOf(x, y)
      let seqs = chunks.get(c)
      if (!seqs) {
        seqs = new Uint32Array(CHUNK_TILES)
        chunks.set(c, seqs)
      }
      seqs[offsetOf(x, y)] = seq
      dirty.add(c)
    },
    takeDirty: () => {
      const out = new Map<number, Uint32Array>()
      for (const c of dirty) out.set(c, chunks.get(c) as Uint32Array)
      dirty.clear()
      return out
    },
    markDirty: (list) => {
      for (const c of list) dirty.add(c)
    },
    loadChunk: (chunk, seqs) => {
      if (seqs.length !== CHUNK_TILES) throw new Error(`tile index: chunk ${chunk} holds ${seqs.length} seqs`)
      chunks.set(chunk, seqs)
    },
  }
}
