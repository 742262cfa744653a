/**
 * Rollback and its undo. A rollback marks matching placements as rolled back (in the history
 * database) and writes, as ordinary board writes every client receives, each affected tile's
 * latest placement that is not rolled back (colour 0 if none). Undo removes the marks and writes
 * the tiles again the same way, so rollbacks compose in any order.
 */
import { type Rect, rectContains } from '../shared/placement.ts'
import { type HistoryStore, type PlacementRecord, RecordKind } from './history-store.ts'
import type { Room, TileWrite } from './room.ts'

/** Which placements to roll back: all given conditions must hold (at least one is required). */
export type RollbackFilter = { user?: string; rect?: Rect; from?: number; to?: number }

export type RollbackOutcome = { id: number; placements: number; tiles: number }

/** The user name under which the relay writes restored tiles in the history. */
export const RESTORE_USER = '@restore'

const matches = (r: PlacementRecord, f: RollbackFilter): boolean =>
  r.kind !== RecordKind.Restore &&
  (f.user === undefined || r.user === f.user) &&
  (f.rect === undefined || rectContains(f.rect, r.x, r.y)) &&
  (f.from === undefined || r.placedAt >= f.from) &&
  (f.to === undefined || r.placedAt <= f.to)

/** The write that gives a tile its latest colour not rolled back (a Restore pointing at it). */
const restoreOf = async (history: HistoryStore, board: string, x: number, y: number): Promise<TileWrite> => {
  let before: number | undefined
  for (;;) {
    const page = await history.tileHistory(board, x, y, 64, before)
    if (page.length === 0) return { x, y, color: 0, ref: 0 }
    const candidates = page.filter((r) => r.kind !== RecordKind.Restore)
    const rolled = await history.rolledBackOf(
      board,
      candidates.map((r) => r.seq),
    )
    const live = candidates.find((r) => !rolled.has(r.seq))
    if (live) return { x, y, color: live.color, ref: live.seq }
    before = (page[page.length - 1] as PlacementRecord).seq
  }
}

const restoresFor = async (history: HistoryStore, room: Room, tiles: Iterable<number>) => {
  const { width } = room.config()
  const writes: TileWrite[] = []
  let changed = 0
  const bitmap = room.bitmap()
  for (const cell of tiles) {
    const w = await restoreOf(history, room.id, cell % width, Math.floor(cell / width))
    if (bitmap[cell] !== w.color) changed += 1
    writes.push(w)
  }
  return { writes, changed }
}

const nextRollbackId = async (history: HistoryStore, board: string): Promise<number> => {
  const id = (((await history.getJson(board, 'rollbackSeq')) as number | undefined) ?? 0) + 1
  await history.putJson(board, 'rollbackSeq', id)
  return id
}

/** Rolls back every placement matching the filter, up to the moment it runs. */
export const rollback = async (room: Room, history: HistoryStore, filter: RollbackFilter): Promise<RollbackOutcome> => {
  const id = await nextRollbackId(history, room.id)
  // Most of the history is scanned while placements go on; the tail after `scanned` is scanned
  // again with commits paused, so that nothing placed before the rollback escapes it.
  const found: number[] = []
  const cells = new Map<number, number>()
  const { width } = room.config()
  let scanned = 0
  const scan = async () => {
    for await (const r of history.readAfter(room.id, scanned)) {
      scanned = r.seq
      if (matches(r, filter)) {
        found.push(r.seq)
        cells.set(r.seq, r.y * width + r.x)
      }
    }
  }
  await scan()
  return room.exclusive(async () => {
    await scan()
    const marked = await history.markRolledBack(room.id, id, found)
    const tiles = new Set(marked.map((seq) => cells.get(seq) as number))
    const { writes, changed } = await restoresFor(history, room, tiles)
    return { result: { id, placements: marked.length, tiles: changed }, writes, user: RESTORE_USER, kind: RecordKind.Restore }
  })
}

/** Undoes rollback `id`: its placements count again, and their tiles are written accordingly. */
export const undoRollback = async (room: Room, history: HistoryStore, id: number): Promise<RollbackOutcome> =>
  room.exclusive(async () => {
    const seqs = await history.unmarkRollback(room.id, id)
    const records = (await history.getRecords(room.id, seqs)).filter((r): r is PlacementRecord => r !== undefined)
    const { width } = room.config()
    const tiles = new Set(records.map((r) => r.y * width + r.x))
    const { writes, changed } = await restoresFor(history, room, tiles)
    return { result: { id, placements: seqs.length, tiles: changed }, writes, user: RESTORE_USER, kind: RecordKind.Restore }
  })
