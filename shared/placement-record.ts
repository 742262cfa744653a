/**
 * A history record: one write to a board, in commit order, as the relay's history stores it
 * (relay/record-block.ts) and as the writer ships it to edges (shared/stream-messages.ts).
 */

/** What wrote a history record. */
export const RecordKind = {
  /** A placement by an identity (admins included). */
  Placement: 0,
  /** An admin fill or blank of a rectangle. */
  Fill: 1,
  /** A tile restored by a rollback or its undo; `ref` is the placement whose colour it restores (0: none). */
  Restore: 2,
} as const
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind]

/** One write to the board, in commit order. Times in ms since the Unix epoch. */
export type PlacementRecord = {
  seq: number
  x: number
  y: number
  color: number
  user: string
  placedAt: number
  kind: RecordKind
  /** For Restore records: the seq of the placement restored, 0 for "never placed". */
  ref: number
  /**
   * The client-chosen placement id (shared/protocol.ts PLACEMENT_ID_PATTERN) of a placement that
   * had one: stored so that a retry after a restart is still recognised. Absent otherwise.
   */
  id?: string
}

/** Whether `k` names a record kind (a decoder meets numbers). */
export const isRecordKind = (k: number): k is RecordKind => k === RecordKind.Placement || k === RecordKind.Fill || k === RecordKind.Restore
