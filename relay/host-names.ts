/**
 * Who the host identities are: for each relay user minted from a host token, its issuer and the
 * display name the newest token carried. Kept in the history store's JSON space (relay-wide
 * entries, board ''), one small entry per identity, written only when it changes, so that the
 * tile API can name the placer after a restart. Anonymous identities have no entry.
 */
import type { HistoryStore } from './history-store.ts'

export type HostName = {
  /** The host token's `iss`, or null for a token without one. */
  issuer: string | null
  /** The cleaned display name, or null. */
  name: string | null
}

export type HostNames = {
  /** The issuer and name of a host identity, or null for any other user. */
  get: (user: string) => Promise<HostName | null>
  /** Records a host identity's issuer and name (a durable write only when they changed). */
  remember: (user: string, entry: HostName) => Promise<void>
}

/** Entries kept in memory (about 200 bytes each); beyond it the oldest read is dropped and read again when asked for. */
const CACHE_ENTRIES = 10_000
const key = (user: string) => `host:${user}`

export const createHostNames = (history: HistoryStore): HostNames => {
  // user -> entry or null (known not to be a host identity). Map order is insertion order: a
  // read re-inserts, so the first key is the least recently used.
  const cache = new Map<string, HostName | null>()
  const keep = (user: string, entry: HostName | null) => {
    cache.delete(user)
    cache.set(user, entry)
    if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string)
  }
  const get = async (user: string): Promise<HostName | null> => {
    if (cache.has(user)) {
      const entry = cache.get(user) ?? null
      keep(user, entry)
      return entry
    }
    const stored = (await history.getJson('', key(user))) as HostName | undefined
    const entry = stored ? { issuer: stored.issuer ?? null, name: stored.name ?? null } : null
    keep(user, entry)
    return entry
  }
  return {
    get,
    remember: async (user, entry) => {
      const known = await get(user)
      if (known && known.issuer === entry.issuer && known.name === entry.name) return
      await history.putJson('', key(user), entry)
      keep(user, { issuer: entry.issuer, name: entry.name })
    },
  }
}
