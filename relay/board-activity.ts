/**
 * A board's recent activity for the moderation page: people online and placements in the last
 * minute, counted from the history newest first (so it costs one read per block of the last
 * minute's records, and nothing is kept in memory for it).
 */

import { RecordKind } from '../shared/placement-record.ts'
import type { HistoryStore } from './history-store.ts'
import type { Room } from './room.ts'

/** The window placements are counted over, in ms. */
export const ACTIVITY_WINDOW_MS = 60_000

/** Records read at most per count: a busier minute is reported as this many (a lower bound). */
export const ACTIVITY_MAX_RECORDS = 100_000

export type BoardActivity = {
  /** Sockets' people online now (as BoardInfo.online). */
  online: number
  /** Placements by people (not fills or restores) with placedAt in the last ACTIVITY_WINDOW_MS. */
  placementsPerMinute: number
  /** Whether the count stopped at ACTIVITY_MAX_RECORDS. */
  capped: boolean
  /** When it was counted, ms since the epoch. */
  at: number
}

export const boardActivity = async (history: HistoryStore, room: Room, now: number): Promise<BoardActivity> => {
  const since = now - ACTIVITY_WINDOW_MS
  let placements = 0
  let read = 0
  let capped = false
  for await (const r of history.readBackwards(room.id)) {
    if (r.placedAt < since) break
    if (++read > ACTIVITY_MAX_RECORDS) {
      capped = true
      break
    }
    if (r.kind === RecordKind.Placement) placements += 1
  }
  return { online: room.online(), placementsPerMinute: placements, capped, at: now }
}
