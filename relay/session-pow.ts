/**
 * The proof of work a new identity costs (SESSION_POW_BITS, docs/PROTOCOL.md "Identity").
 * Challenges are stateless until redeemed: "p1.<bits>.<expiresAt base36>.<random>.<mac>", the
 * mac an HMAC-SHA256 (truncated to 128 bits, base64url) under a key derived from the relay's
 * secret, so issuing one costs no memory and a forged or altered one is refused. A redeemed
 * challenge is remembered until it expires (one use); that set is bounded (MAX_REDEEMED), and
 * each entry in it cost its client a solved proof of work.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { CHALLENGE_PATTERN, meetsDifficulty, NONCE_PATTERN } from '../shared/proof-of-work.ts'
import { type PowChallenge, SessionError } from '../shared/protocol.ts'

const VERSION = 'p1'
/**
 * Redeemed challenges remembered at most (about 100 bytes each: ~10 MB). Filling it takes that
 * many solved challenges within one challenge lifetime (at the default 18 bits, ~14 CPU-hours
 * in 5 minutes); beyond it new identities are refused rate-limited until entries expire.
 */
export const MAX_REDEEMED = 100_000

export type PowRefusal = { ok: false; error: SessionError; message: string; retryAfterMs?: number }

export type PowGate = {
  /** The difficulty new challenges carry (0: no proof of work is asked for). */
  bits: number
  /** A fresh challenge. */
  challenge: (now: number) => PowChallenge
  /**
   * Checks a presented solution without using it up (the caller may still refuse the identity,
   * e.g. for the per-address hourly limit, and the client may retry with the same solution).
   */
  check: (challenge: unknown, nonce: unknown, now: number) => { ok: true; expiresAt: number } | PowRefusal
  /** Marks a checked challenge as used until it expires. */
  redeem: (challenge: string, expiresAt: number, now: number) => void
}

export const createPowGate = (opts: { secret: Buffer; bits: number; ttlMs: number }): PowGate => {
  const { bits, ttlMs } = opts
  const key = createHmac('sha256', opts.secret).update('tessera session challenges').digest()
  const mac = (body: string) => createHmac('sha256', key).update(body).digest().subarray(0, 16).toString('base64url')
  /** Redeemed challenge -> its expiry (ms). */
  const redeemed = new Map<string, number>()
  let sweptAt = 0
  const sweep = (now: number) => {
    for (const [c, expiresAt] of redeemed) if (expiresAt <= now) redeemed.delete(c)
  }
  return {
    bits,
    challenge: (now) => {
      const expiresAt = now + ttlMs
      const body = `${VERSION}.${bits}.${expiresAt.toString(36)}.${randomBytes(12).toString('base64url')}`
      return { challenge: `${body}.${mac(body)}`, bits, expiresAt }
    },
    check: (challenge, nonce, now) => {
      if (typeof challenge !== 'string' || !CHALLENGE_PATTERN.test(challenge)) {
        return { ok: false, error: SessionError.PowInvalid, message: 'challenge must be a string from this relay' }
      }
      if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) {
        return { ok: false, error: SessionError.PowInvalid, message: 'nonce must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -' }
      }
      const parts = challenge.split('.')
      const [version, bitsText, expiresText, random, given] = parts
      const body = parts.slice(0, 4).join('.')
      const expected = Buffer.from(mac(body))
      const presented = Buffer.from(given ?? '')
      if (
        parts.length !== 5 ||
        version !== VERSION ||
        !/^\d{1,2}$/.test(bitsText ?? '') ||
        !/^[0-9a-z]{1,12}$/.test(expiresText ?? '') ||
        !random ||
        presented.length !== expected.length ||
        !timingSafeEqual(presented, expected)
      ) {
        return { ok: false, error: SessionError.PowInvalid, message: 'the challenge was not issued by this relay, or was altered' }
      }
      const challengeBits = Number(bitsText)
      const expiresAt = Number.parseInt(expiresText as string, 36)
      if (expiresAt <= now) return { ok: false, error: SessionError.ChallengeExpired, message: 'the challenge expired: solve the new one' }
      if (redeemed.has(challenge)) {
        return { ok: false, error: SessionError.ChallengeUsed, message: 'the challenge was already used: solve the new one' }
      }
      // A challenge issued before the operator raised SESSION_POW_BITS is not enough.
      if (challengeBits < bits) {
        return { ok: false, error: SessionError.PowInvalid, message: `the relay now asks for ${bits} bits: solve the new challenge` }
      }
      if (!meetsDifficulty(challenge, nonce, challengeBits)) {
        return {
          ok: false,
          error: SessionError.PowInvalid,
          message: `SHA-256(challenge + ':' + nonce) does not start with ${challengeBits} zero bits`,
        }
      }
      if (redeemed.size >= MAX_REDEEMED) {
        sweep(now)
        if (redeemed.size >= MAX_REDEEMED) {
          return {
            ok: false,
            error: SessionError.RateLimited,
            retryAfterMs: ttlMs,
            message: 'too many new identities at once; try again later',
          }
        }
      }
      return { ok: true, expiresAt }
    },
    redeem: (challenge, expiresAt, now) => {
      // A pass every ttlMs keeps the set to the challenges redeemed in the last 2 x ttlMs.
      if (now - sweptAt >= ttlMs) {
        sweep(now)
        sweptAt = now
      }
      redeemed.set(challenge, expiresAt)
    },
  }
}
