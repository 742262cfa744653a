/**
 * Per-address cooldowns (PER_IP_COOLDOWN): when each client address last placed on a board,
 * kept across restarts. In memory by address (the placement path pays nothing extra); on disk
 * only as pseudonyms (an HMAC keyed by the relay's secret: the history stores no addresses) and
 * only those still inside the cooldown window, written every SAVE_MS and at close. After a
 * restart the saved entries are consulted by pseudonym until their window has passed.
 *
 * A crash (kill -9) loses at most SAVE_MS of entries: an address that placed in those seconds
 * may place once more early. Per-identity cooldowns do not depend on this (they are rebuilt
 * from the history).
 *
 * Scaled out, an edge relay holds the writer's entries by pseudonym too (`setPseudonym`, from the
 * Commit messages: relay/room-follow.ts): it never learns other relays' clients' addresses, yet
 * it can tell whether one of its own clients' addresses is on cooldown (edges share the writer's
 * secret, so they compute the same pseudonyms).
 */
import type { HistoryStore } from './history-store.ts'

/** How often changed entries are written, ms. */
export const SAVE_MS = 5_000
/** The history JSON value holding a board's saved entries. */
const JSON_NAME = 'ipCooldowns'
/** Pseudonyms remembered by address (each ~100 bytes): cleared whole when full, as relay/ip-address.ts limitKey's cache. */
const PSEUDONYM_CACHE = 4_096

type Saved = { entries: Record<string, number> }

export type IpCooldowns = {
  /** When the address last placed (ms), if inside the window. */
  get: (ip: string) => number | undefined
  set: (ip: string, placedAt: number) => void
  /** Records that the address with this pseudonym placed at `placedAt` (ms): the writer's entries on an edge. */
  setPseudonym: (key: string, placedAt: number) => void
  /** The pseudonym of an address (cached: an HMAC, asked for each Session frame on an edge). */
  pseudonym: (ip: string) => string
  /** Forgets the address (a refused commit gives its reservation back). */
  delete: (ip: string) => void
  /** Drops entries placed at or before `cutoff` (ms). */
  sweep: (cutoff: number) => void
  /**
   * The entries inside the window now, by pseudonym (the later time where an address is both
   * in memory and restored): what is saved, and what a writer's State message carries.
   */
  entries: () => Map<string, number>
  /** Writes the entries inside the window now (also done every SAVE_MS when they changed). */
  save: () => Promise<void>
  /** Stops the timer and writes once more. */
  close: () => Promise<void>
}

export const openIpCooldowns = async (opts: {
  history: HistoryStore
  board: string
  /** The board's cooldown, ms (read at each use: it changes live). */
  windowMs: () => number
  /** The pseudonym stored for an address. */
  pseudonym: (ip: string) => string
  now: () => number
}): Promise<IpCooldowns> => {
  const { history, board, now } = opts
  const byIp = new Map<string, number>()
  // Entries by pseudonym, consulted until they leave the window: the previous run's, and on an
  // edge the writer's (setPseudonym).
  const restored = new Map<string, number>()
  const pseudonyms = new Map<string, string>()
  const pseudonym = (ip: string): string => {
    let key = pseudonyms.get(ip)
    if (key === undefined) {
      key = opts.pseudonym(ip)
      if (pseudonyms.size >= PSEUDONYM_CACHE) pseudonyms.clear()
      pseudonyms.set(ip, key)
    }
    return key
  }
  const saved = (await history.getJson(board, JSON_NAME)) as Saved | undefined
  const start = now() - opts.windowMs()
  for (const [key, t] of Object.entries(saved?.entries ?? {})) if (typeof t === 'number' && t > start) restored.set(key, t)
  let changed = false

  const entries = (): Map<string, number> => {
    const cutoff = now() - opts.windowMs()
    const out = new Map<string, number>()
    for (const [key, t] of restored) if (t > cutoff) out.set(key, t)
    for (const [ip, t] of byIp) {
      const key = pseudonym(ip)
      if (t > cutoff && t > (out.get(key) ?? -Infinity)) out.set(key, t)
    }
    return out
  }
  const save = async () => {
    changed = false
    await history.putJson(board, JSON_NAME, { entries: Object.fromEntries(entries()) } satisfies Saved)
  }
  const timer = setInterval(() => {
    if (changed)
      save().catch(() => {
        // The next tick tries again; a crash before then loses these entries (see above).
        changed = true
      })
  }, SAVE_MS)
  timer.unref()

  return {
    get: (ip) => byIp.get(ip) ?? (restored.size > 0 ? restored.get(pseudonym(ip)) : undefined),
    set: (ip, placedAt) => {
      byIp.set(ip, placedAt)
      changed = true
    },
    setPseudonym: (key, placedAt) => {
      if ((restored.get(key) ?? -Infinity) >= placedAt) return
      restored.set(key, placedAt)
      changed = true
    },
    pseudonym,
    delete: (ip) => {
      byIp.delete(ip)
      changed = true
    },
    sweep: (cutoff) => {
      for (const [ip, t] of byIp) if (t <= cutoff) byIp.delete(ip)
      for (const [key, t] of restored) if (t <= cutoff) restored.delete(key)
    },
    entries,
    save,
    close: async () => {
      clearInterval(timer)
      await save()
    },
  }
}
