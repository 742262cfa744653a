/** Placement intents over HTTP and WebSocket: acks, every typed rejection, cooldown, identity. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { solve } from '../../shared/proof-of-work.ts'
import { newSession, openRaw, placeHttp, postSession } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'

let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({
    boards: [
      { id: 'main', cooldownMs: 60_000 },
      { id: 'free', width: 50, height: 40, cooldownMs: 0 },
      { id: 'frozen', width: 10, height: 10, locked: true },
    ],
  })
})
afterAll(async () => {
  await relay.stop()
})

const bitmapOf = (id: string) => relay.rooms.get(id)?.bitmap() as Uint8Array

describe('identity', () => {
  it('issues signed tokens as JSON and as a cookie, and renews a presented identity', async () => {
    const challenge = (await (await postSession(relay.url)).json()) as { challenge: string; bits: number }
    const res = await postSession(relay.url, { challenge: challenge.challenge, nonce: solve(challenge.challenge, challenge.bits) })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { token: string; user: string }
    expect(body.token).toMatch(/^v2\./)
    expect(res.headers.get('set-cookie')).toContain(`tessera_token=${body.token}`)
    expect(res.headers.get('set-cookie')).toContain('HttpOnly')
    const again = await postSession(relay.url, undefined, { cookie: `tessera_token=${body.token}` })
    expect(((await again.json()) as { user: string }).user).toBe(body.user)
  })

  it('accepts the token as bearer, cookie or query parameter', async () => {
    const { token } = await newSession(relay.url)
    const post = (init: RequestInit, query = '') =>
      fetch(`${relay.url}/api/boards/free/place${query}`, { method: 'POST', body: JSON.stringify({ x: 1, y: 1, color: 1 }), ...init })
    expect((await post({ headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect((await post({ headers: { cookie: `a=b; tessera_token=${token}` } })).status).toBe(200)
    expect((await post({}, `?token=${encodeURIComponent(token)}`)).status).toBe(200)
  })

  it('refuses missing, forged and altered tokens with 401 and changes nothing', async () => {
    const { token } = await newSession(relay.url)
    const before = bitmapOf('free').slice()
    const [v, user, issued, mac] = token.split('.') as [string, string, string, string]
    const forged = [
      null,
      'nonsense',
      `${v}.${user}.${issued}.${'A'.repeat(mac.length)}`,
      `${v}.${user.slice(0, -1)}${user.endsWith('A') ? 'B' : 'A'}.${issued}.${mac}`,
      `${v}.${user}.${(Number.parseInt(issued, 36) + 1).toString(36)}.${mac}`,
      `${token}x`,
    ]
    for (const t of forged) {
      const r = await placeHttp(relay.url, t, { x: 2, y: 2, color: 2 }, 'free')
      expect(r.status, String(t)).toBe(401)
      expect(r.body).toMatchObject({ ok: false, error: 'unauthorized' })
    }
    expect(Buffer.compare(bitmapOf('free'), before)).toBe(0)
  })
})

describe('HTTP placement', () => {
  it('acknowledges a valid placement and answers the tile with who and when', async () => {
    const { token, user } = await newSession(relay.url)
    const r = await placeHttp(relay.url, token, { x: 12, y: 34, color: 5 }, 'free')
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ ok: true })
    expect(bitmapOf('free')[34 * 50 + 12]).toBe(5)
    const tile = (await (await fetch(`${relay.url}/api/boards/free/tiles/12/34`)).json()) as Record<string, unknown>
    expect(tile).toEqual({ x: 12, y: 34, color: 5, user, placedAt: r.body.placedAt, name: null, issuer: null })
    const never = (await (await fetch(`${relay.url}/api/boards/free/tiles/49/39`)).json()) as Record<string, unknown>
    expect(never).toEqual({ x: 49, y: 39, color: 0, user: null, placedAt: null, name: null, issuer: null })
  })

  it('answers every bad input with a typed 4xx and changes nothing', async () => {
    const { token } = await newSession(relay.url)
    const before = bitmapOf('free').slice()
    const cases: [unknown, number, string][] = [
      [{ x: 50, y: 0, color: 1 }, 400, 'out-of-bounds'],
      [{ x: -1, y: 0, color: 1 }, 400, 'out-of-bounds'],
      [{ x: 0, y: 40, color: 1 }, 400, 'out-of-bounds'],
      [{ x: 1.5, y: 0, color: 1 }, 400, 'bad-request'],
      [{ x: '1', y: 0, color: 1 }, 400, 'bad-request'],
      [{ x: 1, y: 0 }, 400, 'bad-request'],
      [{ x: 1, y: 0, color: 16 }, 400, 'bad-color'],
      [{ x: 1, y: 0, color: -1 }, 400, 'bad-color'],
      [[1, 2, 3], 400, 'bad-request'],
      ['{"x": 1,', 400, 'bad-request'],
      ['null', 400, 'bad-request'],
      [JSON.stringify({ x: 1, y: 1, color: 1, pad: 'x'.repeat(100_000) }), 413, 'too-large'],
    ]
    for (const [body, status, error] of cases) {
      const r = await placeHttp(relay.url, token, body, 'free')
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status)
      expect(r.body).toMatchObject({ ok: false, error })
      expect(typeof r.body.message).toBe('string')
    }
    expect(Buffer.compare(bitmapOf('free'), before)).toBe(0)
  })

  it('answers unknown boards and routes with 404, locked boards with 403', async () => {
    const { token } = await newSession(relay.url)
    expect((await placeHttp(relay.url, token, { x: 1, y: 1, color: 1 }, 'nope')).status).toBe(404)
    expect((await placeHttp(relay.url, token, { x: 1, y: 1, color: 1 }, '..%2F..%2Fetc')).status).toBe(404)
    expect((await fetch(`${relay.url}/api/boards/nope`)).status).toBe(404)
    expect((await fetch(`${relay.url}/api/boards/free/tiles/50/0`)).status).toBe(400)
    expect((await fetch(`${relay.url}/api/boards/free/tiles/x/0`)).status).toBe(400)
    expect((await fetch(`${relay.url}/api/nothing`)).status).toBe(404)
    const locked = await placeHttp(relay.url, token, { x: 1, y: 1, color: 1 }, 'frozen')
    expect(locked.status).toBe(403)
    expect(locked.body).toMatchObject({ ok: false, error: 'locked' })
  })

  it('enforces the cooldown per identity with 429, Retry-After and retryAfterMs', async () => {
    const a = await newSession(relay.url)
    const b = await newSession(relay.url)
    const first = await placeHttp(relay.url, a.token, { x: 3, y: 3, color: 3 })
    expect(first.status).toBe(200)
    expect(first.body.nextPlaceAt).toBe((first.body.placedAt as number) + 60_000)
    const second = await placeHttp(relay.url, a.token, { x: 4, y: 4, color: 4 })
    expect(second.status).toBe(429)
    expect(second.body).toMatchObject({ ok: false, error: 'cooldown' })
    // Every failure carries a human-readable message (docs/PROTOCOL.md), the cooldown too.
    expect(second.body.message).toMatch(/^cooling down: .*wait \d+ s$/)
    expect(second.body.retryAfterMs).toBeGreaterThan(50_000)
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(50)
    expect(bitmapOf('main')[4 * 1000 + 4]).toBe(0)
    // Another identity from the same address is not affected (per-IP cooldown is off by default).
    expect((await placeHttp(relay.url, b.token, { x: 4, y: 4, color: 4 })).status).toBe(200)
  })

  it('lets at least 50 identities from one address place when the per-address budget is off (IP_PLACEMENTS_PER_COOLDOWN=0: a school)', async () => {
    const sessions = await Promise.all(Array.from({ length: 60 }, () => newSession(relay.url)))
    const results = await Promise.all(sessions.map((s, i) => placeHttp(relay.url, s.token, { x: i, y: 500, color: 7 })))
    expect(results.every((r) => r.status === 200)).toBe(true)
  })

  it('shows the board with its palette and settings', async () => {
    const info = (await (await fetch(`${relay.url}/api/boards/main`)).json()) as Record<string, unknown>
    expect(info).toMatchObject({ id: 'main', width: 1000, height: 1000, shardSize: 64, cooldownMs: 60_000, locked: false })
    expect(info.palette).toHaveLength(16)
    expect((info.palette as string[])[0]).toBe('#ffffff')
    const list = (await (await fetch(`${relay.url}/api/boards`)).json()) as { boards: { id: string }[] }
    expect(list.boards.map((b) => b.id)).toEqual(['main', 'free', 'frozen'])
  })
})

describe('WebSocket placement', () => {
  it('acknowledges over the socket and shares the cooldown with HTTP', async () => {
    const { token } = await newSession(relay.url)
    const sock = await openRaw(`${relay.wsBase}/main?token=${token}`)
    const ok = await sock.place(10, 20, 9)
    expect(ok).toMatchObject({ ok: true })
    expect(bitmapOf('main')[20 * 1000 + 10]).toBe(9)
    const again = await sock.place(11, 20, 9)
    expect(again).toMatchObject({ ok: false, error: 'cooldown' })
    // A new socket with the same identity, and HTTP, are under the same cooldown.
    const other = await openRaw(`${relay.wsBase}/main?token=${token}`)
    expect(await other.place(12, 20, 9)).toMatchObject({ ok: false, error: 'cooldown' })
    expect((await placeHttp(relay.url, token, { x: 13, y: 20, color: 9 })).status).toBe(429)
    sock.close()
    other.close()
  })

  it('rejects each bad intent with a typed result and keeps the socket open', async () => {
    const { token } = await newSession(relay.url)
    const sock = await openRaw(`${relay.wsBase}/free?token=${token}`)
    expect(await sock.place(50, 0, 1)).toMatchObject({ ok: false, error: 'out-of-bounds' })
    expect(await sock.place(0, 0, 99)).toMatchObject({ ok: false, error: 'bad-color' })
    expect(await sock.place(0, 0, 2)).toMatchObject({ ok: true })
    expect(sock.closed()).toBeNull()
    sock.close()
  })

  it('answers placements from an anonymous socket with unauthorized', async () => {
    const sock = await openRaw(`${relay.wsBase}/free`)
    expect(await sock.place(0, 0, 2)).toMatchObject({ ok: false, error: 'unauthorized' })
    sock.close()
  })
})
