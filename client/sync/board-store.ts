/**
 * The last board seen, per board id, in IndexedDB (raw API, no dependency): enough to paint it
 * before any network answer, and to resume from where it left off (since=<cursor>).
 *
 * Stored only when consistent: `bitmap` holds exactly the history seqs up to `cursor` (the
 * connection's cursor was known). One record per board, replaced on each save.
 */
import type { VersionedConfig } from './board-state.ts'

export type StoredBoard = {
  board: string
  /** Row-major colour indices, width * height bytes. */
  bitmap: Uint8Array
  width: number
  height: number
  /** The board's config (cooldown, palette, lock ...) and its version counter. */
  config: VersionedConfig
  /** The last history seq the bitmap holds. */
  cursor: number
  /** When the bitmap was last known to be the relay's board (ms, browser clock). */
  savedAt: number
}

export type BoardStore = {
  load: (board: string) => Promise<StoredBoard | null>
  save: (record: StoredBoard) => Promise<void>
}

const DB_NAME = 'tessera'
const DB_VERSION = 1
const STORE = 'boards'

const request = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })

/** Opens the database, or null where IndexedDB is unavailable (some private modes): nothing is kept then. */
export const openBoardStore = async (): Promise<BoardStore | null> => {
  let db: IDBDatabase
  try {
    const open = indexedDB.open(DB_NAME, DB_VERSION)
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE, { keyPath: 'board' })
    }
    db = await request(open)
  } catch {
    return null
  }
  return {
    load: async (board) => {
      try {
        const found = (await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(board))) as StoredBoard | undefined
        return found && isStoredBoard(found) ? found : null
      } catch {
        return null
      }
    },
    save: (record) =>
      new Promise((resolve) => {
        let tx: IDBTransaction
        try {
          tx = db.transaction(STORE, 'readwrite')
          tx.objectStore(STORE).put(record)
        } catch {
          // The database is closing (another tab upgraded it) or lacks the store: keep nothing.
          return resolve()
        }
        // A failed write (quota) keeps the previous record: nothing else to do about it.
        tx.oncomplete = () => resolve()
        tx.onerror = () => resolve()
        tx.onabort = () => resolve()
      }),
  }
}

/** A record from an older layout, or damaged, is ignored (the page then starts as a first visit). */
const isStoredBoard = (r: StoredBoard): boolean =>
  r.bitmap instanceof Uint8Array &&
  Number.isSafeInteger(r.width) &&
  Number.isSafeInteger(r.height) &&
  r.bitmap.length === r.width * r.height &&
  Number.isSafeInteger(r.cursor) &&
  typeof r.savedAt === 'number' &&
  typeof r.config === 'object' &&
  r.config !== null &&
  typeof r.config.board === 'object'
