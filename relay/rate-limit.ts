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

/** One bucket per key (an address, say); idle buckets are forgotten once full again. */
export const createKeyedLimiter = (perSecond: number, burst: number) => {
  const buckets = new Map<string, Bucket>()
  let sweptAt = 0
  const fullAfterMs = (burst / perSecond) * 1000
  const lastUse = new Map<string, number>()
  return {
    take: (key: string, now: number): boolean => {
      if (now - sweptAt > fullAfterMs) {
        for (const [k, t] of lastUse) {
          if (now - t > fullAfterMs) {
            lastUse.delete(k)
            buckets.delete(k)
          }
        }
        sweptAt = now
      }
      let b = buckets.get(key)
      if (!b) {
        b = createBucket(perSecond, burst, now)
        buckets.set(key, b)
      }
      lastUse.set(key, now)
      return b.take(now)
    },
  }
}
