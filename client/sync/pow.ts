/**
 * Solves a new identity's proof of work (shared/proof-of-work.ts) on the main thread in slices
 * of about SLICE_MS, yielding to the event loop between them so that the page keeps painting
 * and answering input. Once per identity: ~2^bits attempts, about 0.5 s at the default 18 bits.
 */
import { solveRange } from '../../shared/proof-of-work.ts'

/**
 * Milliseconds of hashing between two yields: under a frame (16.7 ms at 60 Hz), so that the page
 * keeps drawing every frame while a first visit's identity is made (25 ms slices dropped every
 * other frame for the half second the work takes).
 */
const SLICE_MS = 10

/** Resolves on a later task: a MessageChannel message is not clamped like nested setTimeout (4 ms). */
const nextTask = (): Promise<void> =>
  new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })

/** A nonce such that SHA-256(challenge + ':' + nonce) starts with `bits` zero bits. */
export const solveChallenge = async (challenge: string, bits: number): Promise<string> => {
  let attempts = 2048
  for (let from = 0; ; ) {
    const started = performance.now()
    const nonce = solveRange(challenge, bits, from, from + attempts)
    if (nonce !== null) return nonce
    from += attempts
    // Aim the next slice at SLICE_MS from the speed just measured (at most doubling).
    const ms = performance.now() - started
    attempts = Math.max(256, Math.min(attempts * 2, Math.round((attempts * SLICE_MS) / Math.max(ms, 0.1))))
    await nextTask()
  }
}
