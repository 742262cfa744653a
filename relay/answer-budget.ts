/**
 * Bytes of sync and resume answers one address may be sent, as a token bucket that may go into
 * debt: an answer is sent when the address's balance is positive (whatever its size, so that a
 * board of any size can always be loaded), its bytes are then charged, and the next answer waits
 * until the refill has paid the debt back. Asking costs a client a few bytes; answering can cost
 * the relay megabytes, so the relay rations answers per address, not per socket (issue 11).
 *
 * Memory is bounded: at most `maxKeys` addresses are tracked, least recently used first out. An
 * evicted address starts again with a full bucket, which is no more than a new address gets; an
 * attacker able to cycle through `maxKeys` addresses has that many addresses anyway.
 * Pure apart from the clock the caller passes.
 */
export type AnswerBudget = {
  /** Milliseconds until `key` may be sent an answer (0: now). */
  delayMs: (key: string, now: number) => number
  /** Charges `bytes` sent to `key`. */
  charge: (key: string, bytes: number, now: number) => void
}

export type AnswerBudgetLimits = {
  /** Refill, bytes per second. */
  bytesPerSecond: number
  /** Most bytes an address may be sent at once after a quiet period. */
  burstBytes: number
  /** Most addresses tracked at once. */
  maxKeys?: number
}

type Balance = { bytes: number; at: number }

export const createAnswerBudget = (limits: AnswerBudgetLimits): AnswerBudget => {
  const maxKeys = limits.maxKeys ?? 100_000
  const rate = limits.bytesPerSecond / 1000
  // Map order is the LRU order: a touched key is moved to the end.
  const balances = new Map<string, Balance>()
  const current = (key: string, now: number): Balance => {
    const b = balances.get(key)
    if (b) balances.delete(key)
    const next = b ? { bytes: Math.min(limits.burstBytes, b.bytes + (now - b.at) * rate), at: now } : { bytes: limits.burstBytes, at: now }
    balances.set(key, next)
    while (balances.size > maxKeys) balances.delete(balances.keys().next().value as string)
    return next
  }
  return {
    delayMs: (key, now) => {
      const b = current(key, now)
      return b.bytes > 0 ? 0 : Math.ceil((1 - b.bytes) / rate)
    },
    charge: (key, bytes, now) => {
      current(key, now).bytes -= bytes
    },
  }
}
