/**
 * The board documents in LevelDB through y-leveldb (DATA_DIR/doc), behind a handle that can
 * reopen the database: LevelDB refuses every write after one failed (a full disk, say), so
 * recovering once space returns needs a fresh instance.
 */
import { getLevelUpdatesKeys, LeveldbPersistence, PREFERRED_TRIM_SIZE } from 'y-leveldb'
import type * as Y from 'yjs'

/**
 * y-leveldb keeps one LevelDB entry per stored update and merges them only when a document is
 * loaded with more than PREFERRED_TRIM_SIZE (500) of them; the relay stores one per commit and
 * keeps its documents loaded, so it asks for that load itself every COMPACT_EVERY stores. The
 * load applies the updates to a fresh Y.Doc (which garbage-collects what later updates deleted)
 * and stores its state as one update: the stored document stays bounded by the board, and a
 * restart loads a few updates, not one per commit since the start.
 */
const COMPACT_EVERY = PREFERRED_TRIM_SIZE + 100

export type DocStore = {
  getYDoc: (name: string) => Promise<Y.Doc>
  /** Stores one update; false if it could not be written (y-leveldb logs the error). */
  storeUpdate: (name: string, update: Uint8Array) => Promise<boolean>
  /** Number of updates stored for a document (for tests and diagnostics). */
  storedUpdates: (name: string) => Promise<number>
  /** Closes and reopens the database (after a failed write). */
  reopen: () => Promise<void>
  close: () => Promise<void>
}

export const openDocStore = (location: string): DocStore => {
  let persistence = new LeveldbPersistence(location)
  let reopening: Promise<void> | null = null
  const storesSinceCompaction = new Map<string, number>()
  const compact = (name: string) => {
    storesSinceCompaction.set(name, 0)
    // Queued behind the stores already in y-leveldb's transaction chain; not awaited, so the
    // commit that triggered it is acknowledged without waiting for the compaction.
    persistence.getYDoc(name).then((doc) => doc.destroy())
  }
  return {
    getYDoc: (name) => persistence.getYDoc(name),
    storeUpdate: async (name, update) => {
      if (reopening) await reopening
      // y-leveldb catches write errors inside its transaction queue and answers null.
      const clock = await persistence.storeUpdate(name, update)
      const ok = clock !== null && clock !== undefined
      if (ok) {
        const n = (storesSinceCompaction.get(name) ?? 0) + 1
        storesSinceCompaction.set(name, n)
        if (n >= COMPACT_EVERY) compact(name)
      }
      return ok
    },
    storedUpdates: (name) => persistence._transact(async (db) => (await getLevelUpdatesKeys(db, name)).length),
    reopen: () => {
      reopening ??= (async () => {
        await persistence.destroy()
        persistence = new LeveldbPersistence(location)
      })().finally(() => {
        reopening = null
      })
      return reopening
    },
    close: () => persistence.destroy(),
  }
}
