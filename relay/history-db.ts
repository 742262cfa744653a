/**
 * The history's LevelDB handle: opening it (with a readable error when another process holds
 * it) and reopening it after a failed write.
 */
import { ClassicLevel } from 'classic-level'

/** The history database: byte keys, byte values. */
export type HistoryLevel = ClassicLevel<Uint8Array, Uint8Array>

export type HistoryDb = {
  level: HistoryLevel
  /** Notes a failed write: LevelDB then refuses every later write (its error is sticky). */
  markFailed: () => void
  /** Reopens the database if a write failed since, which recovers once the cause (a full disk, say) is gone. */
  reopenIfFailed: () => Promise<void>
}

/**
 * Opens the history database. Rejects with a readable error if another process holds it (a
 * second relay on the same DATA_DIR).
 */
export const openHistoryDb = async (location: string): Promise<HistoryDb> => {
  const level: HistoryLevel = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await level.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(cause?.message ?? ''))) {
      throw new Error(`${location} is in use by another process: is a second relay running on the same DATA_DIR?`)
    }
    throw err
  }
  let failed = false
  return {
    level,
    markFailed: () => {
      failed = true
    },
    reopenIfFailed: async () => {
      if (!failed) return
      await level.close()
      await level.open()
      failed = false
    },
  }
}
