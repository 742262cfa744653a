/**
 * Verifies host tokens: HS256 JWTs (compact JWS) that a site embedding the board signs for its
 * signed-in users (docs/EMBEDDING.md "Identity from the host site"). Pure: the secrets and the
 * clock are arguments.
 *
 * Which secret verifies a token: the per-site secret of its `iss` when config.json lists that
 * issuer under "embedSites" (and no other secret: a leaked EMBED_SECRET cannot mint a listed
 * site's users), otherwise EMBED_SECRET (tokens without `iss`, and issuers not listed).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { HostTokenLimits, HostTokenReason } from '../shared/protocol.ts'

export type HostTokenKeys = {
  /** EMBED_SECRET (UTF-8 bytes), or null when unset. */
  defaultSecret: Buffer | null
  /** Per-site secrets (UTF-8 bytes) by `iss`. */
  sites: ReadonlyMap<string, Buffer>
}

/** The claims of a verified host token, cleaned. Times in ms since the Unix epoch. */
export type HostClaims = {
  /** `iss`, or null for a token without one. */
  iss: string | null
  /** The host's user id. */
  sub: string
  /** The display name, trimmed, control characters stripped, at most maxNameChars code points; null if absent or empty. */
  name: string | null
  /** `exp` in ms. */
  expiresAt: number
  /** `iat` in ms, or null without one. */
  issuedAt: number | null
}

export type HostTokenVerdict = { ok: true; claims: HostClaims } | { ok: false; reason: HostTokenReason; message: string }

const SEGMENT = /^[A-Za-z0-9_-]+$/
/** Control characters, lone surrogates, line and paragraph separators, and bidirectional overrides and isolates. */
const UNWANTED = /[\p{Cc}\p{Cs}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu

const refuse = (reason: HostTokenReason, message: string): HostTokenVerdict => ({ ok: false, reason, message })
const malformed = (message: string) => refuse(HostTokenReason.Malformed, message)

/** A base64url segment holding a JSON object, or null. Non-canonical base64url (padding, spare bits set) is refused. */
const jsonSegment = (segment: string): Record<string, unknown> | null => {
  if (!SEGMENT.test(segment)) return null
  const bytes = Buffer.from(segment, 'base64url')
  if (bytes.toString('base64url') !== segment) return null
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** A display name as kept and shown: see HostClaims.name. */
export const cleanHostName = (raw: string): string | null => {
  const cleaned = Array.from(raw.replace(UNWANTED, '').trim()).slice(0, HostTokenLimits.maxNameChars).join('').trim()
  return cleaned === '' ? null : cleaned
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

/** Whether `token` is a valid host token at `now` (ms), and its claims. */
export const verifyHostToken = (token: unknown, keys: HostTokenKeys, now: number): HostTokenVerdict => {
  if (keys.defaultSecret === null && keys.sites.size === 0) {
    return refuse(HostTokenReason.EmbedDisabled, 'this relay accepts no host tokens (no EMBED_SECRET and no per-site secret)')
  }
  if (typeof token !== 'string' || token.length > HostTokenLimits.maxTokenChars) {
    return malformed(`hostToken must be a compact JWT string of at most ${HostTokenLimits.maxTokenChars} characters`)
  }
  const parts = token.split('.')
  if (parts.length !== 3) return malformed('a JWT has three base64url parts separated by dots')
  const [h, p, sig] = parts as [string, string, string]
  const header = jsonSegment(h)
  if (!header) return malformed('the JWT header is not base64url-encoded JSON')
  // Only HS256: "none" (no signature) and every other algorithm are refused before any key is chosen.
  if (header.alg !== 'HS256') return malformed(`alg must be HS256, got ${JSON.stringify(header.alg ?? null)}`)
  if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')) {
    return malformed('typ must be JWT when present')
  }
  // RFC 7515 4.1.11: extensions marked critical must be understood; this verifier knows none.
  if (header.crit !== undefined) return malformed('crit header extensions are not supported')
  const claims = jsonSegment(p)
  if (!claims) return malformed('the JWT claims are not base64url-encoded JSON')
  const { iss, sub, exp, iat, nbf, name } = claims
  if (iss !== undefined && (typeof iss !== 'string' || iss.length === 0 || iss.length > HostTokenLimits.maxIssChars)) {
    return malformed(`iss must be a string of 1 to ${HostTokenLimits.maxIssChars} characters when present`)
  }
  const issuer = iss === undefined ? null : iss
  const secret = (issuer !== null ? keys.sites.get(issuer) : undefined) ?? keys.defaultSecret
  if (secret === null) {
    return refuse(
      HostTokenReason.UnknownIssuer,
      issuer === null
        ? 'tokens without iss need EMBED_SECRET, which is not set'
        : `no secret for iss ${JSON.stringify(issuer)} (not in embedSites, and no EMBED_SECRET)`,
    )
  }
  // Compare the text, not decoded bytes (base64url's last character has spare bits), at equal
  // length (timingSafeEqual throws otherwise; the length is not secret).
  const expected = Buffer.from(createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url'))
  const given = Buffer.from(sig)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refuse(HostTokenReason.BadSignature, 'the signature does not match: the token was altered or signed with another secret')
  }
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > HostTokenLimits.maxSubChars) {
    return malformed(`sub must be a string of 1 to ${HostTokenLimits.maxSubChars} characters`)
  }
  if (!isTime(exp)) return malformed('exp (seconds since the Unix epoch) is required')
  if ((iat !== undefined && !isTime(iat)) || (nbf !== undefined && !isTime(nbf))) {
    return malformed('iat and nbf must be numbers (seconds since the Unix epoch) when present')
  }
  if (name !== undefined && name !== null && typeof name !== 'string') return malformed('name must be a string when present')
  const skew = HostTokenLimits.clockSkewMs
  const expiresAt = exp * 1000
  if (expiresAt + skew <= now) return refuse(HostTokenReason.Expired, 'the host token expired: sign a new one')
  if (nbf !== undefined && nbf * 1000 - skew > now) return refuse(HostTokenReason.Expired, 'the host token is not valid yet (nbf)')
  if (iat !== undefined && iat * 1000 - skew > now) return malformed('iat lies in the future')
  if (expiresAt - now > HostTokenLimits.maxLifetimeMs + skew) {
    return malformed(`exp lies more than ${HostTokenLimits.maxLifetimeMs / 3_600_000} h ahead: host tokens must be short-lived`)
  }
  const cleaned = typeof name === 'string' ? cleanHostName(name) : null
  return { ok: true, claims: { iss: issuer, sub, name: cleaned, expiresAt, issuedAt: iat === undefined ? null : iat * 1000 } }
}
