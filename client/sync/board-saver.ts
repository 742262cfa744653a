/**
 * Keeping the board in IndexedDB (client/sync/board-store.ts) while it changes: at most every
 * `everyMs`, and whenever asked (the app saves when the page is hidden or left). Only a
 * consistent board is kept: one whose cursor is known, with the time it was last live. Used by
 * the app (one record per board id) and the embeds (one per relay and board).
 */
import type { BoardState } from './board-state.ts'
import type { BoardStore } from './board-store.ts'

export type BoardSaver = {
  /** A board frame was handled: the board (or its cursor) may have changed. */
  changed: () => void
  /** Saves now if anything changed since the last save and the board is consistent. */
  save: () => void
  /** Stops the timer (a last save is the caller's choice). */
  stop: () => void
}

export type BoardSaverDeps = {
  /**
   * Where to save, or a promise of it: a first visit's IndexedDB may still be opening (50 to
   * 100 ms and more in a new page) when the board goes live, which must not wait for it; saves
   * asked for before it is open are made at the next tick.
   */
  store: BoardStore | null | Promise<BoardStore | null>
  /** The record's key (StoredBoard.board). */
  key: string
  state: BoardState
  /** The last history seq the bitmap holds, or null while unknown. */
  cursor: () => number | null
  /** When the board was last live (ms, browser clock), or null if never. */
  lastLiveAt: () => number | null
  /** Milliseconds between two saves while the board changes. */
  everyMs: number
  /** Called when a record is written (the app remembers in localStorage that it keeps the board). */
  onSave?: () => void
}

export const createBoardSaver = (deps: BoardSaverDeps): BoardSaver => {
  const { state } = deps
  let store: BoardStore | null = null
  void Promise.resolve(deps.store).then((s) => {
    store = s
  })
  let dirty = false
  const save = () => {
    const cursor = deps.cursor()
    const at = deps.lastLiveAt()
    if (!store || !dirty || cursor === null || at === null) return
    dirty = false
    const { width, height } = state.config()
    deps.onSave?.()
    void store.save({
      board: deps.key,
      bitmap: state.bitmap(),
      width,
      height,
      config: { board: state.config(), version: state.version() },
      cursor,
      savedAt: at,
    })
  }
  const timer = setInterval(save, deps.everyMs)
  return {
    changed: () => {
      dirty = true
    },
    save,
    stop: () => clearInterval(timer),
  }
}
