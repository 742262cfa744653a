/**
 * What a page starts from, asked at once: the board's info, the board kept in IndexedDB and the
 * latest snapshot. A page that never kept this board (as localStorage remembers: `tessera.kept.<id>`)
 * does not wait for IndexedDB (opening it takes 50 to 100 ms and more in a new page): it fetches
 * the snapshot as soon as the board's info names it, and looks in IndexedDB only if the relay
 * cannot be reached (a board kept while the hint was lost is better than nothing then). Without
 * localStorage there is no hint. The snapshot is fetched only when no board is kept.
 */
import type { BoardInfo } from '../../shared/board.ts'
import { KEPT_COOKIE_PREFIX } from '../../shared/protocol.ts'
import { type ApiResult, fetchBoard } from './api.ts'
import { type BoardStore, openBoardStore, type StoredBoard } from './board-store.ts'
import { leaveRelayHint } from './relay-hint.ts'
import { type LoadedSnapshot, loadSnapshot } from './snapshot-load.ts'

/** localStorage key prefix: '1' once this board was kept in IndexedDB. */
export const KEPT_KEY_PREFIX = 'tessera.kept.'

export type StartSources = {
  boardAsked: ReturnType<typeof fetchBoard>
  /** IndexedDB, for saving (null where it is unavailable). */
  storeOpened: Promise<BoardStore | null>
  /** The board kept from an earlier visit, or null. */
  stored: StoredBoard | null
  /** The snapshot, asked for when no board is kept (null: not asked). */
  snapshotAsked: Promise<LoadedSnapshot | null> | null
  /** The snapshot an answer of the board's info names, or null (none, or unreadable). */
  snapshotOf: (info: ApiResult<BoardInfo>) => Promise<LoadedSnapshot | null>
  /** Remembers that this board is kept (localStorage, and a cookie for the relay): call on each save. */
  markKept: () => void
}

export const gatherStartSources = async (origin: string, boardId: string, storage: Storage | null): Promise<StartSources> => {
  const boardAsked = fetchBoard(origin, boardId)
  const snapshotOf = (info: ApiResult<BoardInfo>) =>
    info.ok && info.snapshot ? loadSnapshot(origin, boardId, info.snapshot) : Promise.resolve(null)
  const keptKey = `${KEPT_KEY_PREFIX}${boardId}`
  const hinted = storage?.getItem(keptKey) === '1' || !storage
  const storeOpened = openBoardStore()
  const loadStored = async () => {
    const found = (await (await storeOpened)?.load(boardId)) ?? null
    performance.mark('tessera:store-loaded')
    return found
  }
  let snapshotAsked: Promise<LoadedSnapshot | null> | null = hinted ? null : boardAsked.then(({ result }) => snapshotOf(result))
  let stored: StoredBoard | null = hinted ? await loadStored() : null
  if (!hinted && !(await boardAsked).result.ok) stored = await loadStored()
  if (stored) snapshotAsked = null
  else snapshotAsked ??= boardAsked.then(({ result }) => snapshotOf(result))
  const markKept = () => {
    storage?.setItem(keptKey, '1')
    // The same hint for the relay: its answer to this page's next load then preloads no snapshot image.
    leaveRelayHint(origin, `${KEPT_COOKIE_PREFIX}${boardId}`)
  }
  return { boardAsked, storeOpened, stored, snapshotAsked, snapshotOf, markKept }
}
