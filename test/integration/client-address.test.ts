/**
 * Who a request comes from: X-Forwarded-For behind trusted proxies (never its leftmost entry,
 * which the client writes), addresses keyed per /64 for IPv6, bans by address and CIDR range
 * matching every spelling of an address, and identity cookies on WebSockets from other origins.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloseCode, TOKEN_COOKIE } from '../../shared/protocol.ts'
import { adminCall } from '../helpers/admin.ts'
import { newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-0123456789'
const boards = [{ id: 'main', width: 32, height: 32, cooldownMs: 0 }]

// The relay under test runs without proof of work (SESSION_POW_BITS=0): these tests are about addresses.
const sessionVia = async (url: string, forwardedFor: string) =>
  (await fetch(`${url}/api/session`, { method: 'POST', headers: { 'x-forwarded-for': forwardedFor } })).status

const placeVia = async (url: string, token: string, forwardedFor: string) => {
  const res = await fetch(`${url}/api/boards/main/place`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor, 'content-type': 'application/json' },
    body: JSON.stringify({ x: 1, y: 1, color: 2 }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('behind one trusted proxy (TRUST_PROXY=1)', () => {
  let relay: TestRelay
  beforeAll(async () => {
    relay = await startTestRelay({
      boards,
      env: { TRUST_PROXY: '1', SESSIONS_PER_IP_PER_HOUR: '2', ADMIN_TOKEN: ADMIN, SESSION_POW_BITS: '0' },
    })
  })
  afterAll(async () => {
    await relay.stop()
  })

  it('keys the session budget by the address the proxy appended, not by what the client wrote', async () => {
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push(await sessionVia(relay.url, `203.0.113.${i}, 198.51.100.7`))
    expect(statuses).toEqual([200, 200, 429, 429, 429])
  })

  it('keys IPv6 clients by their /64', async () => {
    const statuses = []
    for (const host of ['::1', '::2', ':ffff:ffff:ffff:ffff']) statuses.push(await sessionVia(relay.url, `2001:db8:0:7${host}`))
    expect(statuses).toEqual([200, 200, 429])
    expect(await sessionVia(relay.url, '2001:db8:0:8::1')).toBe(200)
  })

  it('cannot be grown by unique garbage headers: a malformed entry stops at the proxy', async () => {
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push(await sessionVia(relay.url, randomBytes(3000).toString('hex')))
    // Every request counts against the proxy's own address (127.0.0.1), the last trusted hop.
    expect(statuses).toEqual([200, 200, 429, 429])
  })

  it('bans the address the proxy saw, not the leftmost entry', async () => {
    const { token } = await fetch(`${relay.url}/api/session`, { method: 'POST', headers: { 'x-forwarded-for': '2001:db8:0:9::1' } }).then(
      (r) => r.json() as Promise<{ token: string }>,
    )
    expect((await adminCall(relay.url, ADMIN, 'POST', '/bans', { ip: '192.0.2.66', reason: 'flood' })).status).toBe(200)
    expect(await placeVia(relay.url, token, '192.0.2.66')).toMatchObject({ status: 403, body: { error: 'banned' } })
    // The client wrote the banned address itself; the proxy saw 192.0.2.1.
    expect((await placeVia(relay.url, token, '192.0.2.66, 192.0.2.1')).status).toBe(200)
    // Nor can a client dodge a ban by writing another address in front.
    expect((await placeVia(relay.url, token, '192.0.2.1, 192.0.2.66')).status).toBe(403)
  })
})

describe('IPv6 clients behind a proxy share one /64 budget', () => {
  let relay: TestRelay
  beforeAll(async () => {
    relay = await startTestRelay({
      boards: [{ id: 'main', width: 32, height: 32, cooldownMs: 60_000 }],
      env: { TRUST_PROXY: '1', PER_IP_COOLDOWN: 'true', MAX_CONNECTIONS_PER_IP: '2', SESSION_POW_BITS: '0' },
    })
  })
  afterAll(async () => {
    await relay.stop()
  })

  it('applies the per-address cooldown and the connection cap per /64', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => newSession(relay.url)))
    expect((await placeVia(relay.url, a?.token as string, '2001:db8:0:a::1')).status).toBe(200)
    expect(await placeVia(relay.url, b?.token as string, '2001:db8:0:a::2')).toMatchObject({ status: 429, body: { error: 'cooldown' } })
    expect((await placeVia(relay.url, c?.token as string, '2001:db8:0:b::1')).status).toBe(200)

    // One after another, so that the third is the one beyond the cap.
    const sockets: Awaited<ReturnType<typeof openRaw>>[] = []
    for (const h of ['1', '2', '3'])
      sockets.push(await openRaw(`${relay.wsBase}/main?tessera=1`, { 'x-forwarded-for': `2001:db8:0:c::${h}` }))
    expect((await waitFor(() => sockets[2]?.closed())).code).toBe(CloseCode.RateLimited)
    const elsewhere = await openRaw(`${relay.wsBase}/main?tessera=1`, { 'x-forwarded-for': '2001:db8:0:d::1' })
    elsewhere.ws.send(new Uint8Array([3]))
    await waitFor(() => elsewhere.frames.length > 0, { what: 'an answer to a socket of another /64' })
    expect(elsewhere.closed()).toBeNull()
    for (const sock of [...sockets, elsewhere]) sock.close()
  })
})

describe('address bans (dual-stack listener: an IPv4 client is seen as ::ffff:127.0.0.1)', () => {
  let relay: TestRelay
  let base: string
  let ws: string
  beforeAll(async () => {
    relay = await startTestRelay({ boards, env: { HOST: '', ADMIN_TOKEN: ADMIN, SESSION_POW_BITS: '0' } })
    base = `http://127.0.0.1:${relay.port}`
    ws = `ws://127.0.0.1:${relay.port}/ws`
  })
  afterAll(async () => {
    await relay.stop()
  })

  const refusedEverywhere = async (token: string) => {
    const http = await placeHttp(base, token, { x: 2, y: 2, color: 3 })
    const sock = await openRaw(`${ws}/main?token=${token}`)
    const result = await sock.place(3, 3, 3)
    sock.close()
    await waitFor(() => sock.closed())
    return http.status === 403 && http.body.error === 'banned' && !result.ok && result.error === 'banned'
  }

  it('refuses a banned address over HTTP and WebSocket until unbanned, and covers ranges', async () => {
    const { token } = await newSession(base)
    expect((await placeHttp(base, token, { x: 1, y: 1, color: 1 })).status).toBe(200)

    expect((await adminCall(base, ADMIN, 'POST', '/bans', { ip: '127.0.0.1', reason: 'flood' })).status).toBe(200)
    expect(await refusedEverywhere(token)).toBe(true)
    expect((await adminCall(base, ADMIN, 'DELETE', '/bans/ip/127.0.0.1')).status).toBe(200)
    expect((await placeHttp(base, token, { x: 1, y: 1, color: 1 })).status).toBe(200)

    // A ban written in the mapped spelling is stored, and matches, as the IPv4 address.
    const mapped = await adminCall(base, ADMIN, 'POST', '/bans', { ip: '::FFFF:127.0.0.1' })
    expect(mapped.body.ban).toMatchObject({ kind: 'ip', target: '127.0.0.1' })
    expect(await refusedEverywhere(token)).toBe(true)
    expect((await adminCall(base, ADMIN, 'DELETE', '/bans/ip/127.0.0.1')).status).toBe(200)

    // A range: 127.1.2.3/8 is stored as 127.0.0.0/8, listed, and removed with its '/' encoded.
    const ranged = await adminCall(base, ADMIN, 'POST', '/bans', { ip: '127.1.2.3/8', reason: 'range' })
    expect(ranged.body.ban).toMatchObject({ target: '127.0.0.0/8' })
    expect(await refusedEverywhere(token)).toBe(true)
    expect((await adminCall(base, ADMIN, 'GET', '/bans')).body.bans).toEqual([
      expect.objectContaining({ kind: 'ip', target: '127.0.0.0/8' }),
    ])
    expect((await adminCall(base, ADMIN, 'DELETE', '/bans/ip/127.0.0.0%2F8')).status).toBe(200)
    expect((await placeHttp(base, token, { x: 1, y: 1, color: 1 })).status).toBe(200)

    // An IPv6 range that does not hold the client changes nothing for it.
    expect((await adminCall(base, ADMIN, 'POST', '/bans', { ip: '2001:db8::/32' })).status).toBe(200)
    expect((await placeHttp(base, token, { x: 1, y: 1, color: 1 })).status).toBe(200)
    expect((await adminCall(base, ADMIN, 'DELETE', '/bans/ip/2001:db8::%2F32')).status).toBe(200)
  })

  it('refuses ban targets that are not an address or a range, and stores nothing', async () => {
    for (const ip of ['x'.repeat(16_000), 'example.org', '10.0.0.0/33', '1.2.3', '1.2.3.4:80', '']) {
      const r = await adminCall(base, ADMIN, 'POST', '/bans', { ip })
      expect(r.status, ip.slice(0, 20)).toBe(400)
      expect(r.body).toMatchObject({ ok: false, error: 'bad-address' })
    }
    expect((await adminCall(base, ADMIN, 'POST', '/bans', { user: 'u'.repeat(16_000) })).status).toBe(400)
    expect((await adminCall(base, ADMIN, 'GET', '/bans')).body.bans).toEqual([])
  })
})

describe('identity cookies on WebSockets from other origins', () => {
  let relay: TestRelay
  beforeAll(async () => {
    relay = await startTestRelay({ boards, env: { EMBED_ORIGINS: 'https://blog.example', SESSION_POW_BITS: '0' } })
  })
  afterAll(async () => {
    await relay.stop()
  })

  const placeWith = async (headers: Record<string, string>, query = '') => {
    const sock = await openRaw(`${relay.wsBase}/main?tessera=1${query}`, headers)
    const result = await sock.place(4, 4, 4)
    sock.close()
    await waitFor(() => sock.closed())
    return result
  }

  it('treats a cross-origin handshake carrying a valid cookie as anonymous: it reads, it cannot place', async () => {
    const { token } = await newSession(relay.url)
    const cookie = `${TOKEN_COOKIE}=${token}`
    expect(await placeWith({ cookie, origin: 'https://evil.example' })).toMatchObject({ ok: false, error: 'unauthorized' })
    // The relay's own origin, an embedding origin and no Origin at all (not a browser) keep it.
    expect(await placeWith({ cookie, origin: `http://127.0.0.1:${relay.port}` })).toMatchObject({ ok: true })
    expect(await placeWith({ cookie, origin: 'https://blog.example' })).toMatchObject({ ok: true })
    expect(await placeWith({ cookie })).toMatchObject({ ok: true })
    // A token the page had to know (query parameter) is not a cookie: any origin may use it.
    expect(await placeWith({ origin: 'https://evil.example' }, `&token=${token}`)).toMatchObject({ ok: true })
  })

  it('takes a cookie that is not valid percent-encoding as an invalid token, not as a failure', async () => {
    const cookie = `${TOKEN_COOKIE}=%E0%A4%A`
    const session = await fetch(`${relay.url}/api/session`, { method: 'POST', headers: { cookie } })
    expect(session.status).toBe(200)
    const sock = await openRaw(`${relay.wsBase}/main?tessera=1`, { cookie })
    expect((await waitFor(() => sock.closed())).code).toBe(CloseCode.Unauthorized)
    expect((await fetch(`${relay.url}/api/health`)).status).toBe(200)
  })
})
