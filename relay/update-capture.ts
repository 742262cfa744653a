/**
 * The document updates the room's own transactions produce, collected until taken: what a
 * commit (or the start) writes to disk is exactly what its transactions changed.
 */
import * as Y from 'yjs'

export type UpdateCapture = {
  /** The updates captured since the last take, merged into one (null: none). */
  take: () => Uint8Array | null
}

/** Starts capturing every update of `doc`. */
export const captureUpdates = (doc: Y.Doc): UpdateCapture => {
  let captured: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => {
    captured.push(update)
  })
  return {
    take: () => {
      const updates = captured
      captured = []
      if (updates.length === 0) return null
      return updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates)
    },
  }
}
