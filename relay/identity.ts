/**
 * Anonymous identities as signed tokens: "v1.<user>.<issuedAt base36>.<hmac>" where hmac is
 * HMAC-SHA256 over everything before it, base64url. The secret lives in DATA_DIR/secret (mode
 * 0600), created on first start, and never leaves it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const VERSION = 'v1'
/** User ids: 16 characters of base64url (96 random bits). */
const USER_PATTERN = /^[A-Za-z0-9_-]{16}$/

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

export type Identity = { user: string; issuedAt: number }

export type TokenSigner = {
  /** A new anonymous identity and its token. */
  issue: (now: number) => { token: string } & Identity
  /** The identity a token names, or null if it is malformed, forged or altered. */
  verify: (token: string) => Identity | null
}

export const createTokenSigner = (secret: Buffer): TokenSigner => {
  const sign = (body: string) => createHmac('sha256', secret).update(body).digest()
  return {
    issue: (now) => {
      const user = randomBytes(12).toString('base64url')
      const body = `${VERSION}.${user}.${now.toString(36)}`
      return { token: `${body}.${sign(body).toString('base64url')}`, user, issuedAt: now }
    },
    verify: (token) => {
      if (token.length > 200) return null
      const parts = token.split('.')
      if (parts.length !== 4 || parts[0] !== VERSION) return null
      const [, user, issued, mac] = parts as [string, string, string, string]
      if (!USER_PATTERN.test(user) || !/^[0-9a-z]{1,12}$/.test(issued)) return null
      // Compare the text, not decoded bytes: base64url's last character carries two spare bits,
      // so decoding would accept a token altered there. timingSafeEqual throws on a length
      // mismatch; check that first (the length is not secret).
      const given = Buffer.from(mac)
      const expected = Buffer.from(sign(`${VERSION}.${user}.${issued}`).toString('base64url'))
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
      return { user, issuedAt: Number.parseInt(issued, 36) }
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
