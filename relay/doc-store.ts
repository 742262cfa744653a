/**
 * The board documents in LevelDB through y-leveldb (DATA_DIR/doc), behind a handle that can
 * reopen the database: LevelDB refuses every write after one failed (a full disk, say), so
 * recovering once space returns needs a fresh instance.
 */
import { LeveldbPersistence } from 'y-leveldb'
import type * as Y from 'yjs'

export type DocStore = {
  getYDoc: (name: string) => Promise<Y.Doc>
  /** Stores one update; false if it could not be written (y-leveldb logs the error). */
  storeUpdate: (name: string, update: Uint8Array) => Promise<boolean>
  /** Closes and reopens the database (after a failed write). */
  reopen: () => Promise<void>
  close: () => Promise<void>
}

export const openDocStore = (location: string): DocStore => {
  let persistence = new LeveldbPersistence(location)
  let reopening: Promise<void> | null = null
  return {
    getYDoc: (name) => persistence.getYDoc(name),
    storeUpdate: async (name, update) => {
      if (reopening) await reopening
      // y-leveldb catches write errors inside its transaction queue and answers null.
      const clock = await persistence.storeUpdate(name, update)
      return clock !== null && clock !== undefined
    },
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
