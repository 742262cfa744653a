/**
 * Where a page starts from (pure): the board kept in IndexedDB, the latest snapshot, or nothing.
 * A stored board is painted at once either way (it is the fastest first paint); this decides what
 * the page then catches up from, by the bytes each way costs:
 *
 *   stored    since=<stored cursor>: 4 bytes a write after it (shared/protocol.ts
 *             TILE_VALUE_BYTES), or, more than MAX_RESUME_TILES behind, the relay's full sync
 *             (about a megabyte for a busy 1000x1000 board: always more than a snapshot);
 *   snapshot  the PNG, then since=<snapshot seq>: 4 bytes a write after the snapshot; with no
 *             known seq, a Yjs diff from its state vector (YJS_BYTES_PER_WRITE a write).
 *
 * A stored cursor beyond the relay's seq means the relay's data was reset: the stored board is
 * someone else's past, so the snapshot (or a full sync) it is.
 */
import type { BoardInfo, SnapshotSummary } from '../../shared/board.ts'
import { MAX_RESUME_TILES, TILE_VALUE_BYTES } from '../../shared/protocol.ts'

/**
 * Bytes a tile write costs in a Yjs diff from a snapshot's state vector: 379,443 bytes for 10,000
 * writes measured (docs/CLIENT.md), rounded up.
 */
export const YJS_BYTES_PER_WRITE = 40

export type StartFrom = 'stored' | 'snapshot'

/** What catching up from the snapshot costs, in bytes (PNG included). */
export const snapshotCost = (snapshot: SnapshotSummary, seq: number): number =>
  snapshot.pngBytes + Math.max(0, seq - (snapshot.seq ?? 0)) * (snapshot.seq === null ? YJS_BYTES_PER_WRITE : TILE_VALUE_BYTES)

/**
 * Whether a page holding a stored board at `cursor` should catch up from it or start again from
 * the latest snapshot, given the board's info (its seq and snapshot).
 */
export const chooseStart = (cursor: number, info: Pick<BoardInfo, 'seq' | 'snapshot'>): StartFrom => {
  const seq = info.seq
  const snapshot = info.snapshot
  if (seq === undefined || !snapshot) return 'stored'
  if (cursor > seq) return 'snapshot'
  // A snapshot older than the stored board never helps.
  if (snapshot.seq !== null && snapshot.seq <= cursor) return 'stored'
  const behind = seq - cursor
  if (behind > MAX_RESUME_TILES) return 'snapshot'
  return snapshotCost(snapshot, seq) < behind * TILE_VALUE_BYTES ? 'snapshot' : 'stored'
}
