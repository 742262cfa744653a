/**
 * When to try the relay again after a failed or dropped connection. Pure.
 *
 * Waits double from BACKOFF.firstMs (200, 400, 800, 1600 ms ...) up to a cap drawn once per page
 * in [BACKOFF.minCapMs, 2 x BACKOFF.minCapMs): when a relay restarts, all its pages lose their
 * sockets at the same instant, and a common cap would have them retry in lockstep against the
 * relay that is starting.
 */
export const BACKOFF = {
  /** Milliseconds before the first retry. */
  firstMs: 200,
  /** Lower bound of the per-page cap, ms. */
  minCapMs: 2000,
} as const

/** A cap for this page from a random number in [0, 1). */
export const drawBackoffCap = (random: number): number => BACKOFF.minCapMs + Math.floor(random * BACKOFF.minCapMs)

/** Milliseconds to wait before retry number `attempt` (0 = the first retry after a drop). */
export const backoffDelay = (attempt: number, capMs: number): number => Math.min(capMs, BACKOFF.firstMs * 2 ** Math.min(attempt, 20))
