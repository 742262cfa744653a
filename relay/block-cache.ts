/**
 * The last blocks read, kept so that a tile's chain and its neighbours' chains (which mostly
 * step through the same recent blocks) skip their reads. Blocks never change once written, so
 * an entry never goes stale; the least recently used is dropped first.
 */
import type { Block } from './record-block.ts'

export type BlockCache = {
  /** Keeps a block (or marks it used). */
  remember: (board: string, block: Block) => void
  /** The kept block of a board that holds seq, if any. */
  find: (board: string, seq: number) => Block | undefined
}

/** A cache of at most `capacity` blocks (each at most MAX_BLOCK_RECORDS records, ~25 KB). */
export const createBlockCache = (capacity: number): BlockCache => {
  // Least recently used first (a Map iterates in insertion order).
  const blocks = new Map<string, Block>()
  return {
    remember: (board, block) => {
      const k = `${board}\0${block.first}`
      blocks.delete(k)
      blocks.set(k, block)
      if (blocks.size > capacity) blocks.delete(blocks.keys().next().value as string)
    },
    find: (board, seq) => {
      const prefix = `${board}\0`
      for (const [k, b] of blocks) if (k.startsWith(prefix) && seq >= b.first && seq < b.first + b.count) return b
      return undefined
    },
  }
}
