/**
 * The placement ids a board remembers, so that a retried placement (same identity, same
 * client-chosen id) is answered with its first outcome instead of being placed again
 * (docs/PROTOCOL.md "Retrying a placement"). Pure bookkeeping: the room decides what to
 * remember, rebuilds the map from its history tail at open, and sweeps it.
 *
 * Bounded: at most `perIdentity` ids per identity (its newest) and `perBoard` in all (the oldest
 * are forgotten first); a swept id is forgotten once its outcome is older than the window.
 */
import type { PlaceResult } from '../shared/protocol.ts'

/** One remembered placement id: what it asked for, and its outcome once there is one. */
export type PlacementIdEntry = {
  readonly user: string
  readonly id: string
  /** The intent as first asked (numbers only: a retry must ask for the same tile and colour). */
  readonly x: number
  readonly y: number
  readonly color: number
  /** When the first attempt was accepted or refused (ms since the Unix epoch). */
  readonly at: number
  /** Null while the placement waits for its commit. */
  outcome: PlaceResult | null
  /** Retries that arrived while the first attempt was pending (null: none): answered with its outcome. */
  waiters: ((r: PlaceResult) => void)[] | null
}

export type PlacementIds = {
  /** The entry of (user, id), or undefined if it is not remembered. */
  get: (user: string, id: string) => PlacementIdEntry | undefined
  /** Remembers a new (user, id) (replacing any earlier entry of it); forgets the oldest beyond the bounds. */
  add: (entry: Omit<PlacementIdEntry, 'waiters'>) => PlacementIdEntry
  /** Settles a pending entry: sets its outcome and answers its waiters. */
  settle: (entry: PlacementIdEntry, outcome: PlaceResult) => void
  /**
   * Forgets an entry whose attempt decided nothing (the relay was unavailable or overloaded) and
   * answers its waiters with that refusal: a later retry is judged afresh.
   */
  drop: (entry: PlacementIdEntry, outcome: PlaceResult) => void
  /** Forgets settled entries from before `cutoff` (ms since the Unix epoch). */
  sweep: (cutoff: number) => void
  /** Entries remembered now. */
  size: () => number
}

export const createPlacementIds = (limits: { perIdentity: number; perBoard: number }): PlacementIds => {
  // Per identity, its ids in the order they were added (a small Map: at most perIdentity). Nested
  // rather than one Map keyed by user + id: no key string to build and hash per placement, and
  // the identity's string (one per socket) keeps its hash.
  const byUser = new Map<string, Map<string, PlacementIdEntry>>()
  let size = 0
  // Entries in the order they were added, from `head` (some already forgotten: skipped). Not a
  // Map's own order: taking a large Map's first key scans the holes earlier deletions left (V8
  // compacts them only when the table grows), which cost ~180 us a placement at 100,000 entries.
  let order: PlacementIdEntry[] = []
  let head = 0

  const isCurrent = (e: PlacementIdEntry) => byUser.get(e.user)?.get(e.id) === e
  const forget = (e: PlacementIdEntry) => {
    const ids = byUser.get(e.user)
    if (!ids || ids.get(e.id) !== e) return
    ids.delete(e.id)
    size -= 1
    if (ids.size === 0) byUser.delete(e.user)
  }
  const compactOrder = () => {
    order = order.slice(head).filter(isCurrent)
    head = 0
  }

  return {
    get: (user, id) => byUser.get(user)?.get(id),
    add: (fields) => {
      let ids = byUser.get(fields.user)
      if (!ids) {
        ids = new Map()
        byUser.set(fields.user, ids)
      }
      const earlier = ids.get(fields.id)
      if (earlier) forget(earlier)
      const entry: PlacementIdEntry = {
        user: fields.user,
        id: fields.id,
        x: fields.x,
        y: fields.y,
        color: fields.color,
        at: fields.at,
        outcome: fields.outcome,
        waiters: null,
      }
      ids.set(entry.id, entry)
      size += 1
      if (ids.size > limits.perIdentity) forget(ids.values().next().value as PlacementIdEntry)
      order.push(entry)
      while (size > limits.perBoard && head < order.length) {
        const oldest = order[head++] as PlacementIdEntry
        forget(oldest)
      }
      // Entries forgotten otherwise (per identity, swept) stay in `order` until compacted:
      // amortised O(1) a placement, and `order` stays within about twice the entries remembered.
      if (order.length - head > 2 * size + 1024 || head > 65_536) compactOrder()
      return entry
    },
    settle: (entry, outcome) => {
      entry.outcome = outcome
      const waiters = entry.waiters
      entry.waiters = null
      if (waiters) for (const w of waiters) w(outcome)
    },
    drop: (entry, outcome) => {
      forget(entry)
      const waiters = entry.waiters
      entry.waiters = null
      if (waiters) for (const w of waiters) w(outcome)
    },
    sweep: (cutoff) => {
      // Entries are added roughly in time order (a rebuild adds oldest first), but not strictly:
      // look at every one (a sweep runs once a minute).
      for (const ids of byUser.values()) for (const e of ids.values()) if (e.outcome !== null && e.at < cutoff) forget(e)
      compactOrder()
    },
    size: () => size,
  }
}
