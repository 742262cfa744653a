/**
 * Host-signed identities (docs/EMBEDDING.md "Identity from the host site"): a real relay with
 * EMBED_SECRET, a per-site secret in config.json and EMBED_PLACE_ORIGINS.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { solve } from '../../shared/proof-of-work.ts'
import { HostTokenLimits, WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '../../shared/protocol.ts'
import { newSession, openRaw, placeHttp, postSession } from '../helpers/clients.ts'
import { jwtTime, signHostToken, testSecret } from '../helpers/host-token.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const DEFAULT = testSecret('default')
const FORUM = testSecret('forum')
const PLACE_ORIGIN = 'https://host.example'
const FOREIGN_ORIGIN = 'https://elsewhere.example'

type Exchange = { status: number; body: Record<string, unknown>; headers: Headers }
const exchange = async (relay: TestRelay, hostToken: unknown, headers: Record<string, string> = {}): Promise<Exchange> => {
  const res = await postSession(relay.url, { hostToken }, headers)
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers }
}
const hostToken = (secret: string, claims: Record<string, unknown>) => signHostToken(secret, { exp: jwtTime(Date.now(), 600), ...claims })
const tile = async (relay: TestRelay, x: number, y: number) =>
  (await (await fetch(`${relay.url}/api/boards/main/tiles/${x}/${y}`)).json()) as Record<string, unknown>

/** A raw socket that presents `token` as a subprotocol, from a page of another site. */
const openWithProtocolToken = (relay: TestRelay, token: string) =>
  openRaw(`${relay.wsBase}/main?tessera=1`, { origin: FOREIGN_ORIGIN }, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${token}`])

describe('host identities', () => {
  const tmp = makeTmpDir('tessera-host-')
  const env = { EMBED_SECRET: DEFAULT, EMBED_PLACE_ORIGINS: PLACE_ORIGIN }
  let relay: TestRelay

  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [{ id: 'main' }], embedSites: { forum: { secret: FORUM } } }))
    relay = await startTestRelay({ dataDir: tmp.dir, env })
  })
  afterAll(async () => {
    await relay.stop()
    tmp.remove()
  })

  it('exchanges a host token for a relay token without a cookie, and places over a subprotocol token', async () => {
    const exp = jwtTime(Date.now(), 600)
    const ex = await exchange(relay, signHostToken(FORUM, { sub: 'alice', iss: 'forum', name: ' Alice\u0000 ', exp }))
    expect(ex.status).toBe(200)
    expect(ex.headers.get('set-cookie')).toBeNull()
    expect(ex.body).toMatchObject({ ok: true, name: 'Alice', issuer: 'forum', expiresAt: exp * 1000 })
    expect(ex.body.user).toMatch(/^[A-Za-z0-9_-]{16}$/)

    const sock = await openWithProtocolToken(relay, ex.body.token as string)
    // The relay selects 'tessera' and never echoes the token.
    expect(sock.ws.protocol).toBe(WS_PROTOCOL)
    const placed = await sock.place(3, 4, 5)
    expect(placed.ok).toBe(true)
    expect(await tile(relay, 3, 4)).toMatchObject({ color: 5, user: ex.body.user, name: 'Alice', issuer: 'forum' })

    // The cooldown is charged to the host identity, on a new socket as well.
    const again = await openWithProtocolToken(relay, ex.body.token as string)
    const refused = await again.place(3, 5, 2)
    expect(refused).toMatchObject({ ok: false, error: 'cooldown' })
    sock.close()
    again.close()
  })

  it('maps the same sub to the same user, and the same sub from two issuers to two users', async () => {
    const a1 = await exchange(relay, hostToken(FORUM, { sub: 'bob', iss: 'forum' }))
    const a2 = await exchange(relay, hostToken(FORUM, { sub: 'bob', iss: 'forum' }))
    const b = await exchange(relay, hostToken(DEFAULT, { sub: 'bob', iss: 'wiki' }))
    const c = await exchange(relay, hostToken(DEFAULT, { sub: 'bob' }))
    expect(a1.body.user).toBe(a2.body.user)
    expect(b.body.user).not.toBe(a1.body.user)
    expect(c.body.user).not.toBe(b.body.user)
    expect(c.body).toMatchObject({ issuer: null, name: null })
    // A second identity's cooldown is its own.
    const first = await placeHttp(relay.url, a1.body.token as string, { x: 10, y: 10, color: 1 })
    const second = await placeHttp(relay.url, b.body.token as string, { x: 11, y: 10, color: 1 })
    expect([first.status, second.status]).toEqual([200, 200])
    const bobAgain = await placeHttp(relay.url, a2.body.token as string, { x: 12, y: 10, color: 1 })
    expect(bobAgain.body).toMatchObject({ ok: false, error: 'cooldown' })
  })

  it('names the placer with the newest name, durably across a restart', async () => {
    const first = await exchange(relay, hostToken(FORUM, { sub: 'carol', iss: 'forum', name: 'Carol' }))
    expect((await placeHttp(relay.url, first.body.token as string, { x: 20, y: 20, color: 3 })).status).toBe(200)
    expect(await tile(relay, 20, 20)).toMatchObject({ name: 'Carol', issuer: 'forum' })
    const now = Date.now()
    const renamed = await exchange(relay, hostToken(FORUM, { sub: 'carol', iss: 'forum', name: 'Carol B.', iat: jwtTime(now) }))
    expect(renamed.body.user).toBe(first.body.user)
    expect(await tile(relay, 20, 20)).toMatchObject({ user: first.body.user, name: 'Carol B.', issuer: 'forum' })
    const history = (await (await fetch(`${relay.url}/api/boards/main/tiles/20/20/history`)).json()) as { placements: unknown[] }
    expect(history.placements).toEqual([expect.objectContaining({ user: first.body.user, name: 'Carol B.', issuer: 'forum' })])
    // An older token exchanged later does not bring the old name back.
    const older = await exchange(relay, hostToken(FORUM, { sub: 'carol', iss: 'forum', name: 'Carol', iat: jwtTime(now, -60) }))
    expect(older.status).toBe(200)
    expect(await tile(relay, 20, 20)).toMatchObject({ name: 'Carol B.' })

    await relay.close()
    relay = await startTestRelay({ dataDir: tmp.dir, env })
    expect(await tile(relay, 20, 20)).toMatchObject({ user: first.body.user, name: 'Carol B.', issuer: 'forum' })
  })

  it('gives anonymous placers and untouched tiles null name and issuer', async () => {
    const anon = await newSession(relay.url)
    expect((await placeHttp(relay.url, anon.token, { x: 30, y: 30, color: 2 })).status).toBe(200)
    expect(await tile(relay, 30, 30)).toMatchObject({ user: anon.user, name: null, issuer: null })
    expect(await tile(relay, 31, 31)).toMatchObject({ user: null, name: null, issuer: null })
  })

  it('refuses forged, altered, expired, unknown-issuer and malformed host tokens with their reasons', async () => {
    const forged = await exchange(relay, hostToken(testSecret('guess'), { sub: 'mallory', iss: 'forum' }))
    // A leaked EMBED_SECRET does not reach a site that has its own secret.
    const otherSite = await exchange(relay, hostToken(DEFAULT, { sub: 'alice', iss: 'forum' }))
    const expired = await exchange(relay, hostToken(FORUM, { sub: 'alice', iss: 'forum', exp: jwtTime(Date.now(), -3600) }))
    const [h, p] = hostToken(FORUM, { sub: 'alice', iss: 'forum' }).split('.')
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`
    const altered = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', iss: 'forum', exp: jwtTime(Date.now(), 600) })).toString('base64url')}.${hostToken(FORUM, { sub: 'alice', iss: 'forum' }).split('.')[2]}`
    const results = [
      forged,
      otherSite,
      expired,
      await exchange(relay, none),
      await exchange(relay, altered),
      await exchange(relay, 'x.y.z'),
    ]
    expect(results.map((r) => [r.status, r.body.error, r.body.reason])).toEqual([
      [401, 'unauthorized', 'bad-signature'],
      [401, 'unauthorized', 'bad-signature'],
      [401, 'unauthorized', 'expired'],
      [401, 'unauthorized', 'malformed'],
      [401, 'unauthorized', 'bad-signature'],
      [401, 'unauthorized', 'malformed'],
    ])
    for (const r of results) expect(r.headers.get('set-cookie')).toBeNull()
  })

  it('ends the relay token with the host token, and does not extend it on renewal', async () => {
    const exp = jwtTime(Date.now(), 120)
    const ex = await exchange(relay, signHostToken(FORUM, { sub: 'dave', iss: 'forum', exp }))
    expect(ex.body.expiresAt).toBe(exp * 1000)
    const renewed = await postSession(relay.url, undefined, { authorization: `Bearer ${ex.body.token}` })
    expect(renewed.status).toBe(200)
    expect(((await renewed.json()) as { expiresAt: number }).expiresAt).toBe(exp * 1000)
    // An anonymous token is extended by renewal (the contrast).
    const anon = await newSession(relay.url)
    const anonRenewed = await postSession(relay.url, undefined, { authorization: `Bearer ${anon.token}` })
    expect(((await anonRenewed.json()) as { expiresAt: number }).expiresAt).toBeGreaterThan(exp * 1000 + HostTokenLimits.maxLifetimeMs)
  })

  it('issues an anonymous identity without a cookie for {"cookie": false}', async () => {
    const first = (await (await postSession(relay.url)).json()) as { challenge: string; bits: number }
    const res = await postSession(relay.url, { challenge: first.challenge, nonce: solve(first.challenge, first.bits), cookie: false })
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toBeNull()
    const body = (await res.json()) as { token: string; user: string }
    expect((await placeHttp(relay.url, body.token, { x: 40, y: 40, color: 4 })).status).toBe(200)
    // Without it, the cookie is set (the contrast).
    const again = (await (await postSession(relay.url)).json()) as { challenge: string; bits: number }
    const withCookie = await postSession(relay.url, { challenge: again.challenge, nonce: solve(again.challenge, again.bits) })
    expect(withCookie.headers.get('set-cookie')).toMatch(/^tessera_token=/)
  })

  it('lets only allowed origins take identities, and tells the others why', async () => {
    const token = hostToken(FORUM, { sub: 'erin', iss: 'forum' })
    const foreign = await exchange(relay, token, { origin: FOREIGN_ORIGIN })
    expect(foreign.status).toBe(403)
    expect(foreign.body.error).toBe('origin-not-allowed')
    const anonForeign = await postSession(relay.url, { cookie: false }, { origin: FOREIGN_ORIGIN })
    expect(anonForeign.status).toBe(403)

    const allowed = await exchange(relay, token, { origin: PLACE_ORIGIN })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(PLACE_ORIGIN)
    const own = await exchange(relay, token, { origin: `http://127.0.0.1:${relay.port}` })
    expect(own.status).toBe(200)

    const preflight = (origin: string) =>
      fetch(`${relay.url}/api/session`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      })
    const ok = await preflight(PLACE_ORIGIN)
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe(PLACE_ORIGIN)
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST')
    expect(ok.headers.get('access-control-allow-headers')).toContain('content-type')
    // Any page passes the preflight; the POST refuses it, readably (its embed says why).
    expect((await preflight(FOREIGN_ORIGIN)).headers.get('access-control-allow-origin')).toBe(FOREIGN_ORIGIN)
    expect(foreign.headers.get('access-control-allow-origin')).toBe(FOREIGN_ORIGIN)
    expect(foreign.headers.get('access-control-allow-credentials')).toBeNull()
    // Reading stays open to every origin.
    const read = await fetch(`${relay.url}/api/boards/main`, { headers: { origin: FOREIGN_ORIGIN } })
    expect(read.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('serves a socket that offers only the tessera subprotocol, read-only', async () => {
    const sock = await openRaw(`${relay.wsBase}/main?tessera=1`, { origin: FOREIGN_ORIGIN }, [WS_PROTOCOL])
    expect(sock.ws.protocol).toBe(WS_PROTOCOL)
    expect(await sock.place(50, 50, 1)).toMatchObject({ ok: false, error: 'unauthorized' })
    sock.close()
    // Offered first, the token entry is still not selected (ws would echo the first entry).
    const anon = await newSession(relay.url)
    const tokenFirst = await openRaw(`${relay.wsBase}/main?tessera=1`, {}, [`${WS_TOKEN_PROTOCOL_PREFIX}${anon.token}`, WS_PROTOCOL])
    expect(tokenFirst.ws.protocol).toBe(WS_PROTOCOL)
    expect(await tokenFirst.place(50, 50, 1)).toMatchObject({ ok: true })
    tokenFirst.close()
  })

  it('closes a socket whose subprotocol token is forged with 4401', async () => {
    const sock = await openWithProtocolToken(relay, 'v2.AAAAAAAAAAAAAAAA.0.zzzzzzzz.forged')
    const closed = await waitFor(() => sock.closed(), { what: 'close' })
    expect(closed.code).toBe(4401)
  })
})

describe('host identities without a secret', () => {
  it('refuses host tokens with embed-disabled', async () => {
    const relay = await startTestRelay()
    try {
      const ex = await exchange(relay, hostToken(DEFAULT, { sub: 'alice' }))
      expect([ex.status, ex.body.error, ex.body.reason]).toEqual([401, 'unauthorized', 'embed-disabled'])
    } finally {
      await relay.stop()
    }
  })
})
