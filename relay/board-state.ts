/**
 * A room's board as it is now: its configuration (changed live by admins), the descriptor's
 * version, and the bitmap (row-major colour indices, width * height) that every commit updates.
 * The bitmap is replaced, not resized, when the board grows: read it through `bitmap()` each
 * time, never keep it across a configuration change.
 */
import { type BoardConfig, checkBoardChange } from '../shared/board.ts'
import type { DocConfig } from '../shared/doc-schema.ts'

export type BoardState = {
  board: () => BoardConfig
  bitmap: () => Uint8Array
  /** The board's document config: the board and its descriptor version (a Config frame's content). */
  docConfig: () => DocConfig
  /** Applies a live change (grow-only sizes, appended colours): the new descriptor, or why not. */
  change: (next: BoardConfig) => DocConfig | string
  /**
   * An edge relay takes the writer's descriptor as it is (relay/edge-follower.ts), and the
   * bitmap read from its document when given (else the current one, regrown to the new size).
   */
  adopt: (config: DocConfig, bitmap?: Uint8Array) => void
}

/** Copies a bitmap into a larger one (the board grew). */
export const regrow = (old: Uint8Array, w0: number, h0: number, w1: number, h1: number): Uint8Array => {
  const next = new Uint8Array(w1 * h1)
  for (let y = 0; y < Math.min(h0, h1); y++) next.set(old.subarray(y * w0, y * w0 + Math.min(w0, w1)), y * w1)
  return next
}

export const createBoardState = (initial: { board: BoardConfig; configVersion: number; bitmap: Uint8Array }): BoardState => {
  let { board, configVersion, bitmap } = initial
  return {
    board: () => board,
    bitmap: () => bitmap,
    docConfig: () => ({ ...board, version: configVersion }),
    change: (next) => {
      const reason = checkBoardChange(board, next)
      if (reason) return reason
      if (next.width !== board.width || next.height !== board.height) {
        bitmap = regrow(bitmap, board.width, board.height, next.width, next.height)
      }
      board = next
      configVersion += 1
      return { ...next, version: configVersion }
    },
    adopt: ({ version, ...next }, read) => {
      if (read) bitmap = read
      else if (next.width !== board.width || next.height !== board.height)
        bitmap = regrow(bitmap, board.width, board.height, next.width, next.height)
      board = next
      configVersion = version
    },
  }
}
