/**
 * What a rollback or its undo writes. A rollback marks matching placements as rolled back (in the
 * history database) and writes, as ordinary board writes every client receives, each affected
 * tile's latest placement that is not rolled back (colour 0 if none). Undo removes the marks and
 * writes the tiles again the same way, so rollbacks compose in any order. How they run (in
 * chunks, journalled across a crash): relay/admin-ops.ts.
 */
import { type Rect, rectContains } from '../shared/placement.ts'
import { type HistoryStore, type PlacementRecord, RecordKind } from './history-store.ts'
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
const CHAIN_PAGE = 16

/**
 * The write that gives a tile its latest colour not rolled back, with `change` applied (a Restore
 * pointing at that placement; ref 0 and colour 0 if none), and the tile's latest seq it read.
 */
export const restoreOf = async (
  history: HistoryStore,
  board: string,
  x: number,
  y: number,
  change: MarkChange,
): Promise<{ write: TileWrite; latest: number }> => {
  const latest = await history.tileLatestSeq(board, x, y)
  let before: number | undefined
  for (;;) {
    const page = await history.tileHistory(board, x, y, CHAIN_PAGE, before)
    if (page.length === 0) return { write: { x, y, color: 0, ref: 0 }, latest }
    const candidates = page.filter((r) => r.kind !== RecordKind.Restore)
    const marks = await history.marksOf(
      board,
      candidates.map((r) => r.seq),
    )
    const live = candidates.find((r, i) => {
      const ids = (marks[i] ?? []).filter((m) => m !== change.id || !change.remove.has(r.seq))
      return ids.length === 0 && !change.add.has(r.seq)
    })
    if (live) return { write: { x, y, color: live.color, ref: live.seq }, latest }
    before = (page[page.length - 1] as PlacementRecord).seq
  }
}
