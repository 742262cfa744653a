import { describe, expect, it } from 'vitest'
import { cleanHostName, type HostTokenKeys, verifyHostToken } from '../../relay/host-token.ts'
import { createHostUserIds } from '../../relay/identity.ts'
import { HostTokenLimits } from '../../shared/protocol.ts'
import { jwtTime, signHostToken, testSecret } from '../helpers/host-token.ts'

const NOW = Date.UTC(2026, 11, 3, 12)
const DEFAULT = testSecret('default')
const FORUM = testSecret('forum')
const keys = (opts: { defaultSecret?: string | null; sites?: Record<string, string> } = {}): HostTokenKeys => ({
  defaultSecret: opts.defaultSecret === null ? null : Buffer.from(opts.defaultSecret ?? DEFAULT),
  sites: new Map(Object.entries(opts.sites ?? {}).map(([iss, s]) => [iss, Buffer.from(s)])),
})
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'u-42', exp: jwtTime(NOW, 600), ...extra })
const reasonOf = (token: unknown, k: HostTokenKeys = keys(), now = NOW) => {
  const v = verifyHostToken(token, k, now)
  return v.ok ? 'ok' : v.reason
}

describe('verifyHostToken', () => {
  it('accepts a valid token and returns its cleaned claims, exp in ms', () => {
    const v = verifyHostToken(signHostToken(DEFAULT, claims({ name: '  Ada\u0007 \u202eLovelace ', iat: jwtTime(NOW) })), keys(), NOW)
    expect(v).toEqual({
      ok: true,
      claims: { iss: null, sub: 'u-42', name: 'Ada Lovelace', expiresAt: jwtTime(NOW, 600) * 1000, issuedAt: jwtTime(NOW) * 1000 },
    })
  })

  it('refuses a wrong signature, an altered payload and a truncated signature', () => {
    expect(reasonOf(signHostToken(testSecret('other'), claims()))).toBe('bad-signature')
    const [h, , sig] = signHostToken(DEFAULT, claims()).split('.')
    const altered = Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url')
    expect(reasonOf(`${h}.${altered}.${sig}`)).toBe('bad-signature')
    expect(reasonOf(`${h}.${altered}.${sig?.slice(0, -2)}`)).toBe('bad-signature')
  })

  it('refuses alg none and every algorithm but HS256, whatever the signature', () => {
    const none = signHostToken(DEFAULT, claims(), { alg: 'none', typ: 'JWT' }).split('.')
    expect(reasonOf(`${none[0]}.${none[1]}.`)).toBe('malformed')
    expect(reasonOf(none.join('.'))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims(), { alg: 'HS512' }))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims(), { typ: 'JWT' }))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims(), { alg: 'HS256', crit: ['exp'] }))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims(), { alg: 'HS256' }))).toBe('ok')
  })

  it('refuses bad base64url, bad JSON, wrong shapes and oversized tokens', () => {
    const good = signHostToken(DEFAULT, claims())
    const [h, p, sig] = good.split('.') as [string, string, string]
    expect(reasonOf(undefined)).toBe('malformed')
    expect(reasonOf(42)).toBe('malformed')
    expect(reasonOf('')).toBe('malformed')
    expect(reasonOf(`${h}.${p}`)).toBe('malformed')
    expect(reasonOf(`${h}.${p}.${sig}.x`)).toBe('malformed')
    expect(reasonOf(`${h}=.${p}.${sig}`)).toBe('malformed')
    expect(reasonOf(`${h}.${p}+.${sig}`)).toBe('malformed')
    expect(reasonOf(`${Buffer.from('{"alg":').toString('base64url')}.${p}.${sig}`)).toBe('malformed')
    expect(reasonOf(`${h}.${Buffer.from('[1,2]').toString('base64url')}.${sig}`)).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ pad: 'x'.repeat(HostTokenLimits.maxTokenChars) })))).toBe('malformed')
  })

  it('refuses missing or invalid claims once the signature holds', () => {
    expect(reasonOf(signHostToken(DEFAULT, { exp: jwtTime(NOW, 60) }))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ sub: '' })))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ sub: 7 })))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ sub: 'x'.repeat(HostTokenLimits.maxSubChars + 1) })))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, { sub: 'u' }))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ exp: '9999999999' })))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ name: 12 })))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ iss: '' })))).toBe('malformed')
    expect(reasonOf(signHostToken(DEFAULT, claims({ iat: jwtTime(NOW, 3600) })))).toBe('malformed')
  })

  it('refuses an expired token, with 30 s of clock skew either way', () => {
    expect(reasonOf(signHostToken(DEFAULT, claims({ exp: jwtTime(NOW, -31) })))).toBe('expired')
    expect(reasonOf(signHostToken(DEFAULT, claims({ exp: jwtTime(NOW, -20) })))).toBe('ok')
    expect(reasonOf(signHostToken(DEFAULT, claims({ nbf: jwtTime(NOW, 60) })))).toBe('expired')
    expect(reasonOf(signHostToken(DEFAULT, claims({ nbf: jwtTime(NOW, 20), iat: jwtTime(NOW, 20) })))).toBe('ok')
  })

  it('refuses an exp more than 24 h ahead', () => {
    expect(reasonOf(signHostToken(DEFAULT, claims({ exp: jwtTime(NOW, 24 * 3600) })))).toBe('ok')
    expect(reasonOf(signHostToken(DEFAULT, claims({ exp: jwtTime(NOW, 24 * 3600 + 60) })))).toBe('malformed')
  })

  it('verifies a listed issuer with its own secret only, and others with EMBED_SECRET', () => {
    const k = keys({ sites: { forum: FORUM } })
    expect(reasonOf(signHostToken(FORUM, claims({ iss: 'forum' })), k)).toBe('ok')
    // A leaked default secret cannot mint a listed site's users.
    expect(reasonOf(signHostToken(DEFAULT, claims({ iss: 'forum' })), k)).toBe('bad-signature')
    expect(reasonOf(signHostToken(DEFAULT, claims({ iss: 'wiki' })), k)).toBe('ok')
    expect(reasonOf(signHostToken(FORUM, claims({ iss: 'wiki' })), k)).toBe('bad-signature')
    expect(reasonOf(signHostToken(DEFAULT, claims()), k)).toBe('ok')
  })

  it('refuses an unknown issuer without EMBED_SECRET, and everything when nothing is configured', () => {
    const k = keys({ defaultSecret: null, sites: { forum: FORUM } })
    expect(reasonOf(signHostToken(FORUM, claims({ iss: 'forum' })), k)).toBe('ok')
    expect(reasonOf(signHostToken(FORUM, claims({ iss: 'wiki' })), k)).toBe('unknown-issuer')
    expect(reasonOf(signHostToken(FORUM, claims()), k)).toBe('unknown-issuer')
    expect(reasonOf(signHostToken(DEFAULT, claims()), keys({ defaultSecret: null }))).toBe('embed-disabled')
    expect(reasonOf('junk', keys({ defaultSecret: null }))).toBe('embed-disabled')
  })
})

describe('cleanHostName', () => {
  it('trims, strips control and bidi characters, cuts at 64 code points, and maps empty to null', () => {
    expect(cleanHostName(' \tBob\n ')).toBe('Bob')
    expect(cleanHostName('a\u0000b\u2066c\u2069')).toBe('abc')
    expect(cleanHostName('\u0001 \u0002')).toBeNull()
    expect(cleanHostName('😀'.repeat(70))).toBe('😀'.repeat(64))
  })
})

describe('createHostUserIds', () => {
  it('maps (iss, sub) to a stable 16-character user, different per issuer', () => {
    const ids = createHostUserIds(Buffer.alloc(32, 1))
    const a = ids('forum', 'u-42')
    expect(a).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(ids('forum', 'u-42')).toBe(a)
    expect(createHostUserIds(Buffer.alloc(32, 1))('forum', 'u-42')).toBe(a)
    expect(ids('wiki', 'u-42')).not.toBe(a)
    expect(ids(null, 'u-42')).not.toBe(a)
    expect(ids('forum', 'u-43')).not.toBe(a)
    expect(createHostUserIds(Buffer.alloc(32, 2))('forum', 'u-42')).not.toBe(a)
  })
})
