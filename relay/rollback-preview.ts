/**
 * A rollback's dry run: the same matching (matchesFilter, up to the last seq when it begins) and
 * the same restores (restoresOf, with the matches marked as a rollback would mark them) as
 * relay/admin-ops.ts runs, without writing anything. Returns the tiles whose colour would change,
 * so that the moderation page can draw them over the board before the rollback is applied.
 *
 * Advisory: placements accepted after it ran, or before the rollback itself, may change what the
 * rollback does (the rollback's own cut is taken when it begins).
 */

import type { HistoryStore } from './history-store.ts'
import { matchesFilter, type RollbackFilter, restoresOf } from './rollback.ts'
import type { Room } from './room.ts'

/** Changed tiles listed in one preview at most; `tiles` still counts them all. */
export const PREVIEW_MAX_LISTED = 10_000

/** Tiles planned per restoresOf call (as a rollback's chunk: a few reads each). */
const PLAN_TILES = 256

/** Records scanned between two returns to the event loop (as a rollback's scan). */
const SCAN_YIELD_RECORDS = 8_192

/** One tile a rollback would change: from `was` (its colour now) to `color`. */
export type PreviewChange = { x: number; y: number; color: number; was: number }

export type RollbackPreview = {
  /** Placements the rollback would mark. */
  placements: number
  /** Tiles whose colour would change. */
  tiles: number
  /** Those tiles, in the order first matched, at most PREVIEW_MAX_LISTED. */
  changes: PreviewChange[]
  /** Whether `changes` lists fewer than `tiles`. */
  truncated: boolean
  /** The last history seq the preview considered. */
  cut: number
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

export const previewRollback = async (history: HistoryStore, room: Room, filter: RollbackFilter): Promise<RollbackPreview> => {
  const cut = await history.lastSeq(room.id)
  // Matching seqs per tile (key y * 65,536 + x), in the order first matched.
  const byTile = new Map<number, number[]>()
  let placements = 0
  let read = 0
  for await (const r of history.readAfter(room.id, 0)) {
    if (r.seq > cut) break
    if (matchesFilter(r, filter)) {
      placements += 1
      const key = r.y * 65_536 + r.x
      const list = byTile.get(key)
      if (list) list.push(r.seq)
      else byTile.set(key, [r.seq])
    }
    if (++read % SCAN_YIELD_RECORDS === 0) await tick()
  }
  const keys = [...byTile.keys()]
  const changes: PreviewChange[] = []
  let tiles = 0
  for (let i = 0; i < keys.length; i += PLAN_TILES) {
    const chunk = keys.slice(i, i + PLAN_TILES)
    const add = new Set(chunk.flatMap((k) => byTile.get(k) as number[]))
    const xy = chunk.map((k) => ({ x: k % 65_536, y: Math.floor(k / 65_536) }))
    // Rollback ids start at 1: id 0 marks nothing, so only `add` differs from the marks stored.
    const planned = await restoresOf(history, room.id, xy, { id: 0, add, remove: new Set() })
    const bitmap = room.bitmap()
    const { width } = room.config()
    for (const { write } of planned) {
      const was = bitmap[write.y * width + write.x] ?? 0
      if (was === write.color) continue
      tiles += 1
      if (changes.length < PREVIEW_MAX_LISTED) changes.push({ x: write.x, y: write.y, color: write.color, was })
    }
  }
  return { placements, tiles, changes, truncated: changes.length < tiles, cut }
}
