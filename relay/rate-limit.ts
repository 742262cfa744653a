/**
 * Token buckets: `capacity` events at once, refilled continuously at `capacity` per `periodMs`
 * (or at an explicit rate). Pure apart from the clock the caller passes.
 */
export type Bucket = { take: (now: number) => boolean }

/** A bucket holding up to `burst` tokens, refilled at `perSecond` tokens a second. */
export const createBucket = (perSecond: number, burst: number, now: number): Bucket => {
  let tokens = burst
  let at = now
  return {
    take: (t) => {
      tokens = Math.min(burst, tokens + ((t - at) * perSecond) / 1000)
      at = t
      if (tokens < 1) return false
      tokens -= 1
      return true
    },
  }
}

/** Most keys a keyed limiter remembers by default: about 220 bytes a key (IPv6 /64 keys, measured), some 14 MB. */
export const MAX_LIMITER_KEYS = 65_536

export type KeyedLimiter = {
  /** Takes one token of `key`'s bucket at `now` (ms); false if it has none. */
  take: (key: string, now: number) => boolean
  /** Keys remembered now (at most `maxKeys`). */
  size: () => number
}

/**
 * One bucket per key (an address, say), at most `maxKeys` of them. The map is kept in order of
 * last use, so its first entries are the least recently used:
 * - a key idle for as long as its bucket takes to refill is forgotten (its bucket was full, so
 *   forgetting it changes nothing: a key the limiter does not hold gets a fresh, full bucket);
 * - beyond `maxKeys`, the least recently used key is evicted. Its next event gets a fresh bucket,
 *   which is all any key never seen gets. Forcing that takes `maxKeys` other keys used since,
 *   each with its own full bucket, so an attacker who can do it already holds more than the
 *   eviction gives back; and memory stays bounded whatever keys arrive.
 * Each call is O(1) amortised: forgetting idle keys walks from the front only.
 */
export const createKeyedLimiter = (perSecond: number, burst: number, maxKeys = MAX_LIMITER_KEYS): KeyedLimiter => {
  const buckets = new Map<string, { tokens: number; at: number }>()
  const fullAfterMs = (burst / perSecond) * 1000
  return {
    take: (key, now) => {
      for (const [k, b] of buckets) {
        if (now - b.at <= fullAfterMs) break
        buckets.delete(k)
      }
      let b = buckets.get(key)
      if (b) {
        buckets.delete(key)
        b.tokens = Math.min(burst, b.tokens + ((now - b.at) * perSecond) / 1000)
        b.at = now
      } else {
        b = { tokens: burst, at: now }
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string)
      }
      // Re-inserted: the map's order is the order of last use.
      buckets.set(key, b)
      if (b.tokens < 1) return false
      b.tokens -= 1
      return true
    },
    size: () => buckets.size,
  }
}
