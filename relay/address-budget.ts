/**
 * A person's budget (IP_PLACEMENTS_PER_COOLDOWN): at most `perWindow` placements on one board by
 * one client address within any window of the board's cooldown, whatever the number of
 * identities and sockets behind it. The cooldown makes one identity place once per window; this
 * makes a farm of identities behind one address place like a household, not like hundreds of
 * people. The per-second limiter (IP_PLACEMENTS_PER_SECOND) still guards bursts.
 *
 * In memory only: a relay restart gives every address a fresh budget (at worst perWindow more
 * placements once per restart). Memory: at most perWindow timestamps per address that placed in
 * the last window; addresses idle for a window are dropped.
 */

export type AddressBudget = {
  /**
   * Reserves one placement for `ip` at `now` (ms) and returns 0, or returns the ms until the
   * oldest placement of its window leaves it (nothing reserved).
   */
  take: (ip: string, now: number) => number
  /** Gives back a reservation made at `at` (its commit failed: nothing was placed). */
  giveBack: (ip: string, at: number) => void
}

/**
 * `perWindow` 0 = no budget. `windowMs` is read at each use (the board's cooldown changes live);
 * a board without a cooldown has no budget either (the per-second limiter still applies).
 */
export const createAddressBudget = (perWindow: number, windowMs: () => number): AddressBudget => {
  /** Address -> times (ms) of its placements inside the window, oldest first. */
  const byIp = new Map<string, number[]>()
  let sweptAt = 0
  return {
    take: (ip, now) => {
      const window = windowMs()
      if (perWindow === 0 || window === 0) return 0
      const start = now - window
      if (now - sweptAt >= window) {
        for (const [k, times] of byIp) if ((times[times.length - 1] as number) <= start) byIp.delete(k)
        sweptAt = now
      }
      let times = byIp.get(ip)
      if (!times) {
        times = []
        byIp.set(ip, times)
      }
      while (times.length > 0 && (times[0] as number) <= start) times.shift()
      if (times.length >= perWindow) return Math.max(1, (times[0] as number) + window - now)
      times.push(now)
      return 0
    },
    giveBack: (ip, at) => {
      const times = byIp.get(ip)
      const i = times?.lastIndexOf(at) ?? -1
      if (times && i >= 0) times.splice(i, 1)
    },
  }
}
