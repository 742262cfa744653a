/**
 * Anonymous identities as signed tokens:
 * "v2.<user>.<issuedAt base36>.<expiresAt base36>.<hmac>", where hmac is HMAC-SHA256 over
 * everything before it, base64url. A token is renewed (same user, new issuedAt and expiresAt)
 * whenever it is presented to POST /api/session before it expires. The secret lives in
 * DATA_DIR/secret (mode 0600), created on first start, and never leaves it.
 *
 * Tokens of the first format, "v1.<user>.<issuedAt base36>.<hmac>", carry no expiry: they are
 * accepted (and renewed into v2 for the same user) until V1_TOKENS_EXPIRE_AT, then refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const VERSION = 'v2'
const LEGACY_VERSION = 'v1'
/**
 * When v1 tokens (issued before tokens expired) stop being accepted: 2027-03-01T00:00:00Z, about
 * three months after expiry was introduced, so that anyone who visits meanwhile is renewed into
 * a v2 token without losing their identity.
 */
export const V1_TOKENS_EXPIRE_AT = Date.UTC(2027, 2, 1)
/** User ids: 16 characters of base64url (96 random bits). */
const USER_PATTERN = /^[A-Za-z0-9_-]{16}$/
const TIME_PATTERN = /^[0-9a-z]{1,12}$/

/** Reads DATA_DIR/secret, creating 32 random bytes there (mode 0600) on first start. */
export const loadOrCreateSecret = (dataDir: string): Buffer => {
  const file = join(dataDir, 'secret')
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' })
  }
  chmodSync(file, 0o600)
  const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url')
  if (secret.length < 32) throw new Error(`${file} holds fewer than 32 bytes; delete it to make a new one`)
  return secret
}

export type Identity = {
  user: string
  /** When this token was issued or last renewed, ms since the Unix epoch. */
  issuedAt: number
  /** When this token stops being accepted, ms since the Unix epoch. */
  expiresAt: number
}

/** The message of an `unauthorized` refusal of a presented token (HTTP 401, WebSocket 4401, PlaceResult). */
export const TOKEN_REFUSAL = {
  invalid: 'the token is forged, altered or malformed',
  expired: 'the token expired: POST /api/session for a new identity (renew tokens before they expire)',
} as const

/** What a presented token turned out to be. An expired token names its user but grants nothing. */
export type TokenVerdict = { kind: 'valid'; identity: Identity } | { kind: 'expired'; identity: Identity } | { kind: 'invalid' }

export type TokenSigner = {
  /** A new anonymous identity and its token, valid for the signer's lifetime from `now`. */
  issue: (now: number) => { token: string } & Identity
  /**
   * A token for an existing user (renewal, or a host identity), valid for the signer's lifetime
   * from `now`, or until `until` (ms) if that is sooner.
   */
  renew: (user: string, now: number, until?: number) => { token: string } & Identity
  /** Whether a token is valid at `now`, expired, or malformed, forged or altered (invalid). */
  verify: (token: string, now: number) => TokenVerdict
}

/** `ttlMs`: how long a token is accepted after it is issued or renewed (TOKEN_TTL_MS). */
export const createTokenSigner = (secret: Buffer, ttlMs: number): TokenSigner => {
  const sign = (body: string) => createHmac('sha256', secret).update(body).digest('base64url')
  const mint = (user: string, now: number, until = Number.POSITIVE_INFINITY) => {
    const expiresAt = Math.min(now + ttlMs, until)
    const body = `${VERSION}.${user}.${now.toString(36)}.${expiresAt.toString(36)}`
    return { token: `${body}.${sign(body)}`, user, issuedAt: now, expiresAt }
  }
  // Compare the text, not decoded bytes: base64url's last character carries two spare bits, so
  // decoding would accept a token altered there. timingSafeEqual throws on a length mismatch;
  // check that first (the length is not secret).
  const macMatches = (body: string, mac: string) => {
    const given = Buffer.from(mac)
    const expected = Buffer.from(sign(body))
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
  return {
    issue: (now) => mint(randomBytes(12).toString('base64url'), now),
    renew: mint,
    verify: (token, now) => {
      if (token.length > 200) return { kind: 'invalid' }
      const parts = token.split('.')
      let identity: Identity
      if (parts.length === 5 && parts[0] === VERSION) {
        const [, user, issued, expires, mac] = parts as [string, string, string, string, string]
        if (!USER_PATTERN.test(user) || !TIME_PATTERN.test(issued) || !TIME_PATTERN.test(expires)) return { kind: 'invalid' }
        if (!macMatches(`${VERSION}.${user}.${issued}.${expires}`, mac)) return { kind: 'invalid' }
        identity = { user, issuedAt: Number.parseInt(issued, 36), expiresAt: Number.parseInt(expires, 36) }
      } else if (parts.length === 4 && parts[0] === LEGACY_VERSION) {
        const [, user, issued, mac] = parts as [string, string, string, string]
        if (!USER_PATTERN.test(user) || !TIME_PATTERN.test(issued)) return { kind: 'invalid' }
        if (!macMatches(`${LEGACY_VERSION}.${user}.${issued}`, mac)) return { kind: 'invalid' }
        identity = { user, issuedAt: Number.parseInt(issued, 36), expiresAt: V1_TOKENS_EXPIRE_AT }
      } else {
        return { kind: 'invalid' }
      }
      return now < identity.expiresAt ? { kind: 'valid', identity } : { kind: 'expired', identity }
    },
  }
}

/**
 * A stable pseudonym for an identity in public exports: HMAC of the user id under a key derived
 * from the secret, so it cannot be reversed or linked to tokens without the secret.
 */
export const createAnonymiser = (secret: Buffer): ((user: string) => string) => {
  const key = createHmac('sha256', secret).update('tessera export pseudonyms').digest()
  return (user) => createHmac('sha256', key).update(user).digest('base64url').slice(0, 16)
}

/**
 * The relay identity of a host site's user: 16 base64url characters (USER_PATTERN) of an HMAC
 * over (iss, sub) under a key derived from the secret. Stable (same issuer and user, same
 * identity, across restarts), namespaced (the same `sub` from two issuers gives two identities),
 * and it reveals nothing of `sub` (which may be an e-mail address). 96 bits: a collision with
 * another identity, anonymous or not, is as unlikely as between two anonymous ones.
 */
export const createHostUserIds = (secret: Buffer): ((iss: string | null, sub: string) => string) => {
  const key = createHmac('sha256', secret).update('tessera host identities').digest()
  // JSON of the pair: no (iss, sub) pair can be spelled like another (a separator character could).
  return (iss, sub) =>
    createHmac('sha256', key)
      .update(JSON.stringify([iss, sub]))
      .digest('base64url')
      .slice(0, 16)
}
