/**
 * The board documents in LevelDB through y-leveldb (DATA_DIR/doc), behind a handle that can
 * reopen the database: LevelDB refuses every write after one failed (a full disk, say), so
 * recovering once space returns needs a fresh instance.
 */
import { getLevelUpdates, getLevelUpdatesKeys, LeveldbPersistence, PREFERRED_TRIM_SIZE } from 'y-leveldb'
import * as Y from 'yjs'

/**
 * y-leveldb keeps one LevelDB entry per stored update. After COMPACT_EVERY stores the room
 * replaces them with the live document's state (`replaceWith`), so the stored document stays
 * bounded by the board and a start loads a few updates.
 *
 * Not y-leveldb's own trim (its getYDoc merges more than PREFERRED_TRIM_SIZE updates on load):
 * that applies every stored update to a fresh Y.Doc in one transaction, and Yjs collects
 * garbage only when the transaction ends, so every overwritten tile since the last trim is a
 * full item at once. With updates merged once a second at 12,000 placements/s, 600 stores held
 * 7 M placements and that load ran the relay out of its 4 GB heap (measured in the replay).
 */
export const COMPACT_EVERY = PREFERRED_TRIM_SIZE + 100
/**
 * Bytes of updates stored since the last compaction after which it is due whatever their count
 * (about 200,000 placements of Yjs updates): what a start applies after the stored state.
 */
export const COMPACT_BYTES = 4 * 1024 * 1024

export type DocStore = {
  getYDoc: (name: string) => Promise<Y.Doc>
  /** Stores one update; false if it could not be written (y-leveldb logs the error). */
  storeUpdate: (name: string, update: Uint8Array) => Promise<boolean>
  /** Whether COMPACT_EVERY updates or COMPACT_BYTES were stored since the last `replaceWith`. */
  needsCompaction: (name: string) => boolean
  /**
   * Stores `state` (a whole document's state as one update, holding everything stored so far)
   * and then deletes the updates stored before it. A crash between the two leaves both: loading
   * applies them together, which is the same document. False if it could not be written.
   */
  replaceWith: (name: string, state: Uint8Array) => Promise<boolean>
  /** Number of updates stored for a document (for tests and diagnostics). */
  storedUpdates: (name: string) => Promise<number>
  /** Closes and reopens the database (after a failed write). */
  reopen: () => Promise<void>
  close: () => Promise<void>
}

/** y-leveldb's decoded update key: ['v1', docName, 'update', clock]. */
type UpdateKey = [string, string, string, number]

/**
 * A key outside y-leveldb's ranges ('v1' updates, 'v1_sv' state vectors), written with
 * `sync: true` after each store when `sync` is set: LevelDB fsyncs its log on a sync write, and
 * the log holds every write before it, so the update just stored is on disk too. y-leveldb's
 * own writes take no options.
 */
const SYNC_KEY = ['tessera', 'synced']

export const openDocStore = (location: string, opts: { sync: boolean } = { sync: false }): DocStore => {
  let persistence = new LeveldbPersistence(location)
  let reopening: Promise<void> | null = null
  const storesSinceCompaction = new Map<string, number>()
  const bytesSinceCompaction = new Map<string, number>()
  const store = async (name: string, update: Uint8Array): Promise<number | null> => {
    if (reopening) await reopening
    // y-leveldb catches write errors inside its transaction queue and answers null.
    const clock = await persistence.storeUpdate(name, update)
    if (clock === null || clock === undefined) return null
    if (opts.sync) {
      // In y-leveldb's queue, after the store. The history drops its copy of a document update
      // only after this resolves, so with SYNC_WRITES a power loss cannot lose both.
      const synced = await persistence._transact(async (db) => {
        await db.put(SYNC_KEY, Buffer.from([1]), { sync: true })
        return true
      })
      if (synced !== true) return null
    }
    return clock
  }
  return {
    // Not y-leveldb's getYDoc: it applies every stored update in one transaction (no garbage
    // collection until the end) and may trim on the way; here each update is its own
    // transaction, so a load needs memory for the document, not for every overwrite since the
    // last compaction.
    getYDoc: async (name) => {
      if (reopening) await reopening
      const updates = (await persistence._transact((db) => getLevelUpdates(db, name))) as Uint8Array[]
      const doc = new Y.Doc()
      for (const update of updates) Y.applyUpdate(doc, update)
      return doc
    },
    storeUpdate: async (name, update) => {
      const ok = (await store(name, update)) !== null
      if (ok) {
        storesSinceCompaction.set(name, (storesSinceCompaction.get(name) ?? 0) + 1)
        bytesSinceCompaction.set(name, (bytesSinceCompaction.get(name) ?? 0) + update.length)
      }
      return ok
    },
    needsCompaction: (name) =>
      (storesSinceCompaction.get(name) ?? 0) >= COMPACT_EVERY || (bytesSinceCompaction.get(name) ?? 0) >= COMPACT_BYTES,
    replaceWith: async (name, state) => {
      const clock = await store(name, state)
      if (clock === null) return false
      // In y-leveldb's transaction queue (as its own trim does), so no store interleaves.
      await persistence._transact(async (db) => {
        const older = ((await getLevelUpdatesKeys(db, name)) as UpdateKey[]).filter((key) => key[3] < clock)
        await db.batch(older.map((key) => ({ type: 'del', key })))
      })
      storesSinceCompaction.set(name, 0)
      bytesSinceCompaction.set(name, 0)
      return true
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
