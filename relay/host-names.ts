/**
 * Who the host identities are: for each relay user minted from a host token, its issuer and the
 * display name the newest token carried. Kept in the history store's JSON space (relay-wide
 * entries, board ''), one small entry per identity, so that the tile API can name the placer
 * after a restart. Anonymous identities have no entry.
 */
import type { HistoryStore } from './history-store.ts'

export type HostName = {
  /** The host token's `iss`, or null for a token without one. */
  issuer: string | null
  /** The cleaned display name, or null. */
  name: string | null
}

/** An entry as stored: with the `iat` (ms) of the token that set it, null for a token without one. */
type Stored = HostName & { asOf: number | null }

export type HostNames = {
  /** The issuer and name of a host identity, or null for any other user. */
  get: (user: string) => Promise<HostName | null>
  /**
   * Records a host identity's issuer and name from a token issued at `asOf` (its `iat` in ms, null
   * without one), unless the stored entry came from a token with a later `iat` (an older token
   * replayed does not bring an old name back; tokens without `iat` cannot be ordered and always
   * update). A durable write (one small put) unless nothing changes.
   */
  remember: (user: string, entry: HostName, asOf: number | null) => Promise<void>
}

/** Entries kept in memory (about 200 bytes each); beyond it the oldest read is dropped and read again when asked for. */
const CACHE_ENTRIES = 10_000
const key = (user: string) => `host:${user}`

export const createHostNames = (history: HistoryStore): HostNames => {
  // user -> entry or null (known not to be a host identity). Map order is insertion order: a
  // read re-inserts, so the first key is the least recently used.
  const cache = new Map<string, Stored | null>()
  const keep = (user: string, entry: Stored | null) => {
    cache.delete(user)
    cache.set(user, entry)
    if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string)
  }
  const read = async (user: string): Promise<Stored | null> => {
    if (cache.has(user)) {
      const entry = cache.get(user) ?? null
      keep(user, entry)
      return entry
    }
    const stored = (await history.getJson('', key(user))) as Partial<Stored> | undefined
    const entry = stored ? { issuer: stored.issuer ?? null, name: stored.name ?? null, asOf: stored.asOf ?? null } : null
    keep(user, entry)
    return entry
  }
  return {
    get: async (user) => {
      const entry = await read(user)
      return entry && { issuer: entry.issuer, name: entry.name }
    },
    remember: async (user, entry, asOf) => {
      const known = await read(user)
      if (known && known.asOf !== null && asOf !== null && known.asOf > asOf) return
      if (known && known.asOf === asOf && known.issuer === entry.issuer && known.name === entry.name) return
      const stored: Stored = { issuer: entry.issuer, name: entry.name, asOf }
      await history.putJson('', key(user), stored)
      keep(user, stored)
    },
  }
}
