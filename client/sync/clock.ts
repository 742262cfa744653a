/**
 * The relay's clock as seen from the browser. Cooldowns are absolute relay times (nextPlaceAt,
 * ms since the Unix epoch); a phone whose clock is a minute off would otherwise count down
 * wrongly. The offset is relay time minus local time, in ms.
 */

export type RelayClock = {
  /** Relay time now, ms since the Unix epoch. */
  now: () => number
  /**
   * A relay timestamp observed at local time `localAt` (a PlaceResult's placedAt, accurate to
   * half a round trip). Replaces the estimate.
   */
  observe: (relayAt: number, localAt: number) => void
  /**
   * A coarse relay time (the HTTP Date header: whole seconds, truncated). Used only when no
   * precise observation exists yet and it disagrees by more than its own resolution.
   */
  observeCoarse: (relayAt: number, localAt: number) => void
  offset: () => number
}

/** Resolution of the HTTP Date header plus a margin, ms. */
const COARSE_TOLERANCE_MS = 2000

export const createRelayClock = (localNow: () => number = Date.now): RelayClock => {
  let offset = 0
  let precise = false
  return {
    now: () => localNow() + offset,
    observe: (relayAt, localAt) => {
      offset = relayAt - localAt
      precise = true
    },
    observeCoarse: (relayAt, localAt) => {
      if (precise) return
      // The header truncates to the second: the relay's true time is in [relayAt, relayAt + 1000).
      const estimate = relayAt + 500 - localAt
      if (Math.abs(estimate) > COARSE_TOLERANCE_MS) offset = estimate
    },
    offset: () => offset,
  }
}
