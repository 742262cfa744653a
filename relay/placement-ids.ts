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
  /** Retries that arrived while the first attempt was pending: answered with its outcome. */
  waiters: ((r: PlaceResult) => void)[]
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

/** The key of (user, id): user names never contain U+0000 (tokens give them base64url names). */
const keyOf = (user: string, id: string) => `${user}\u0000${id}`

export const createPlacementIds = (limits: { perIdentity: number; perBoard: number }): PlacementIds => {
  // Insertion order is age order: the first key is the oldest (Map iterates in insertion order).
  const all = new Map<string, PlacementIdEntry>()
  // Each identity's keys, oldest first (at most perIdentity).
  const byUser = new Map<string, string[]>()

  const forget = (key: string) => {
    const entry = all.get(key)
    if (!entry) return
    all.delete(key)
    const keys = byUser.get(entry.user)
    if (!keys) return
    const i = keys.indexOf(key)
    if (i >= 0) keys.splice(i, 1)
    if (keys.length === 0) byUser.delete(entry.user)
  }

  return {
    get: (user, id) => all.get(keyOf(user, id)),
    add: (fields) => {
      const key = keyOf(fields.user, fields.id)
      forget(key)
      const entry: PlacementIdEntry = { ...fields, waiters: [] }
      all.set(key, entry)
      let keys = byUser.get(entry.user)
      if (!keys) {
        keys = []
        byUser.set(entry.user, keys)
      }
      keys.push(key)
      if (keys.length > limits.perIdentity) forget(keys[0] as string)
      while (all.size > limits.perBoard) forget(all.keys().next().value as string)
      return entry
    },
    settle: (entry, outcome) => {
      entry.outcome = outcome
      const waiters = entry.waiters
      entry.waiters = []
      for (const w of waiters) w(outcome)
    },
    drop: (entry, outcome) => {
      const key = keyOf(entry.user, entry.id)
      if (all.get(key) === entry) forget(key)
      const waiters = entry.waiters
      entry.waiters = []
      for (const w of waiters) w(outcome)
    },
    sweep: (cutoff) => {
      // Entries are added roughly in time order (a rebuild adds oldest first), but not strictly:
      // look at every one (a sweep runs once a minute).
      for (const [key, entry] of all) if (entry.outcome !== null && entry.at < cutoff) forget(key)
    },
    size: () => all.size,
  }
}
