/**
 * Keeps the document bounded: counts the tile writes into each shard's map since its base, and
 * inside a commit's transaction replaces the busiest shards by their current colours (a new
 * base), or every shard at once (a new epoch) after enough replacements. The policy is
 * relay/compaction.ts; the writing is shared/doc-schema.ts.
 */
import type * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import { parseShardKey } from '../shared/board.ts'
import { overrideCountOf, replaceEpoch, replaceShard, shardKeysOf } from '../shared/doc-schema.ts'
import { extractShardColors } from '../shared/tile-codec.ts'
import type { BoardState } from './board-state.ts'
import { type CompactionLimits, pickShardsToCompact, shouldStartEpoch } from './compaction.ts'

export type ShardCompactor = {
  /** Counts one tile write into shard `key` (inside a commit's transaction). */
  wrote: (key: string) => void
  /** Compacts what the writes since the last call made due (inside the same transaction). */
  compact: () => void
  /** Shard compactions since the last epoch (kept in the history's meta with each commit). */
  epochReplacements: () => number
}

export const createShardCompactor = (deps: {
  board: string
  doc: Y.Doc
  state: BoardState
  limits: CompactionLimits
  log: Logger
  /** From the history's meta at open. */
  epochReplacements: number
}): ShardCompactor => {
  const { doc, state, log } = deps
  let epochReplacements = deps.epochReplacements
  // Writes per shard since its base (live keys only after a restart: tombstones are not counted).
  const writes = new Map<string, number>()
  let totalWrites = 0
  for (const key of shardKeysOf(doc)) {
    const n = overrideCountOf(doc, key)
    writes.set(key, n)
    totalWrites += n
  }
  // Shards written since the last compact().
  const touched = new Set<string>()

  const colorsOf = (sx: number, sy: number): Uint8Array => {
    const board = state.board()
    return extractShardColors(state.bitmap(), board.width, board.height, board.shardSize, sx, sy)
  }

  const compact = () => {
    const picked = pickShardsToCompact(writes, touched, totalWrites, deps.limits)
    touched.clear()
    const shardSize = state.board().shardSize
    for (const key of picked) {
      const s = parseShardKey(key)
      if (!s) continue
      replaceShard(doc, shardSize, s.sx, s.sy, colorsOf(s.sx, s.sy))
      totalWrites -= writes.get(key) ?? 0
      writes.set(key, 0)
      epochReplacements += 1
    }
    if (shouldStartEpoch(epochReplacements, writes.size)) {
      const shards = [...writes.keys()].flatMap((key) => {
        const s = parseShardKey(key)
        return s ? [{ ...s, colors: colorsOf(s.sx, s.sy) }] : []
      })
      replaceEpoch(doc, shardSize, shards)
      for (const key of writes.keys()) writes.set(key, 0)
      totalWrites = 0
      log.info(`board ${deps.board}: new epoch after ${epochReplacements} shard compactions`)
      epochReplacements = 0
    }
  }

  return {
    wrote: (key) => {
      writes.set(key, (writes.get(key) ?? 0) + 1)
      touched.add(key)
      totalWrites += 1
    },
    compact,
    epochReplacements: () => epochReplacements,
  }
}
