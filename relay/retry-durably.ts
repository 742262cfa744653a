/**
 * Retrying a write until it is durable: the room's one answer to a failing disk. LevelDB's write
 * errors are sticky, so each retry may reopen the database first; placements are refused while
 * any such write is failing (`degraded`), and the retries stop when the room closes.
 */
import type { Logger } from '../node-kit/log.ts'

/** Backoff between attempts, ms: 200, 400, … doubling to 6,400, capped at 5,000. */
const backoffMs = (attempt: number): number => Math.min(5000, 200 * 2 ** Math.min(attempt, 5))

/** One kind of durable write, as `retryDurably.run` retries it. */
export type DurableWrite = {
  /** One attempt: true once durable; false or a throw is a failed attempt. */
  attempt: () => Promise<boolean>
  /** Named in the recovery log line ("document store", "history write"). */
  what: string
  /** Logs the first failure (later ones are silent until it recovers). */
  onFirstFailure: (err: unknown) => void
  /** Run after each wait, before the next attempt (reopening the database). */
  beforeRetry?: () => Promise<void>
}

export type RetryDurably = {
  /** Retries `write` until it is durable (true) or the room closes first (false). */
  run: (write: DurableWrite) => Promise<boolean>
  /** Whether the last attempt of a durable write failed: placements are refused meanwhile. */
  degraded: () => boolean
}

export const createRetryDurably = (deps: { board: string; log: Logger; stopped: () => boolean }): RetryDurably => {
  let degraded = false
  const run = async (write: DurableWrite): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      let failure: unknown
      try {
        if (await write.attempt()) {
          if (attempt > 0) deps.log.warn(`board ${deps.board}: ${write.what} recovered after ${attempt} failed attempts`)
          degraded = false
          return true
        }
      } catch (err) {
        failure = err
      }
      degraded = true
      if (attempt === 0) write.onFirstFailure(failure)
      if (deps.stopped()) return false
      await new Promise((r) => setTimeout(r, backoffMs(attempt)))
      if (deps.stopped()) return false
      await write.beforeRetry?.()
    }
  }
  return { run, degraded: () => degraded }
}
