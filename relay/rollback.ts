/**
 * What a rollback or its undo writes. A rollback marks matching placements as rolled back (in the
 * history database) and writes, as ordinary board writes every client receives, each affected
 * tile's latest placement that is not rolled back (colour 0 if none). Undo removes the marks and
 * writes the tiles again the same way, so rollbacks compose in any order. How they run (in
 * chunks, journalled across a crash): relay/admin-ops.ts.
 */
import { type Rect, rectContains } from '../shared/placement.ts'
import { type PlacementRecord, RecordKind } from '../shared/placement-record.ts'
import type { HistoryStore } from './history-store.ts'
import type { TileWrite } from './room.ts'

/** Which placements to roll back: all given conditions must hold (at least one is required). */
export type RollbackFilter = { user?: string; rect?: Rect; from?: number; to?: number }

export type RollbackOutcome = { id: number; placements: number; tiles: number }

/** The user name under which the relay writes restored tiles in the history. */
export const RESTORE_USER = '@restore'

/** Whether a record is one the filter rolls back (restores never are: they follow the marks). */
export const matchesFilter = (r: PlacementRecord, f: RollbackFilter): boolean =>
  r.kind !== RecordKind.Restore &&
  (f.user === undefined || r.user === f.user) &&
  (f.rect === undefined || rectContains(f.rect, r.x, r.y)) &&
  (f.from === undefined || r.placedAt >= f.from) &&
  (f.to === undefined || r.placedAt <= f.to)

/**
 * A change of one rollback's marks not written yet (one chunk's): the restores are computed as if
 * it were, and it is written in the same batch as they are.
 */
export type MarkChange = { id: number; add: ReadonlySet<number>; remove: ReadonlySet<number> }

/** Records of a tile's chain read per step (most tiles have a few; a step is one block read). */
const CHAIN_PAGE = 8

/** A tile's restore, and the tile's latest seq when it was computed (to see if it moved since). */
export type PlannedRestore = { write: TileWrite; latest: number }

/**
 * The writes that give tiles their latest colour not rolled back, with `change` applied (a Restore
 * pointing at that placement; ref 0 and colour 0 if none). In rounds, all tiles at once: a round
 * reads CHAIN_PAGE records of each unresolved tile's chain and their marks in one read, so that
 * a chunk costs a few reads, not a few per tile.
 */
export const restoresOf = async (
  history: HistoryStore,
  board: string,
  tiles: readonly { x: number; y: number }[],
  change: MarkChange,
): Promise<PlannedRestore[]> => {
  const out: PlannedRestore[] = []
  for (const { x, y } of tiles) out.push({ write: { x, y, color: 0, ref: 0 }, latest: await history.tileLatestSeq(board, x, y) })
  let open = tiles.map((t, i) => ({ ...t, i, beforeSeq: undefined as number | undefined }))
  while (open.length > 0) {
    const pages = await history.tileHistories(board, open, CHAIN_PAGE)
    const candidates = pages.map((page) => page.filter((r) => r.kind !== RecordKind.Restore))
    const marks = await history.marksOf(
      board,
      candidates.flat().map((r) => r.seq),
    )
    const next: typeof open = []
    let m = 0
    open.forEach((tile, k) => {
      const page = pages[k] as PlacementRecord[]
      let live: PlacementRecord | undefined
      for (const r of candidates[k] as PlacementRecord[]) {
        const ids = (marks[m++] ?? []).filter((id) => id !== change.id || !change.remove.has(r.seq))
        if (!live && ids.length === 0 && !change.add.has(r.seq)) live = r
      }
      if (live) (out[tile.i] as PlannedRestore).write = { x: tile.x, y: tile.y, color: live.color, ref: live.seq }
      else if (page.length === CHAIN_PAGE) next.push({ ...tile, beforeSeq: (page[page.length - 1] as PlacementRecord).seq })
    })
    open = next
  }
  return out
}
