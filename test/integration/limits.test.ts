/**
 * Limits and hostile HTTP input: per-address budgets, connection caps, secrets on disk, and a
 * seeded fuzz of every endpoint that must answer 4xx (never 5xx) and change nothing.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloseCode } from '../../shared/protocol.ts'
import { adminCall } from '../helpers/admin.ts'
import { newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** The per-address placement budget: a burst, then this many a second. */
const IP_BURST = 5
const IP_PER_SECOND = 1
let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({
    boards: [{ id: 'main', width: 100, height: 100, cooldownMs: 0 }],
    env: {
      IP_PLACEMENTS_PER_SECOND: String(IP_PER_SECOND),
      IP_PLACEMENT_BURST: String(IP_BURST),
      MAX_CONNECTIONS_PER_IP: '3',
      MAX_BODY_BYTES: '1024',
    },
  })
})
afterAll(async () => {
  await relay.stop()
})

describe('per-address limits', () => {
  it('caps placements per address across identities, over HTTP and WebSocket alike', async (ctx) => {
    const sessions = await Promise.all(Array.from({ length: 8 }, () => newSession(relay.url)))
    // The socket is open before the burst, so that the whole burst is placements.
    const sock = await openRaw(`${relay.wsBase}/main?token=${sessions[0]?.token}`)
    // The bucket refills IP_PLACEMENTS_PER_SECOND: only a burst within one second is judged
    // exactly. A slower one (a loaded machine) is tried again once the bucket is full again.
    for (let round = 0; round < 3; round++) {
      if (round > 0) {
        const since = performance.now()
        await waitFor(() => performance.now() - since >= (IP_BURST / IP_PER_SECOND) * 1000 + 200, {
          what: 'the bucket full again',
          intervalMs: 100,
        })
      }
      const started = performance.now()
      const results = []
      for (const [i, s] of sessions.entries()) results.push(await placeHttp(relay.url, s.token, { x: i, y: round, color: 1 }))
      const overSocket = await sock.place(50, 50 + round, 2)
      if (performance.now() - started >= 1000 / IP_PER_SECOND) continue
      const limited = results.filter((r) => r.status === 429)
      expect(results.filter((r) => r.status === 200)).toHaveLength(IP_BURST)
      expect(limited).toHaveLength(sessions.length - IP_BURST)
      expect(limited[0]?.body).toMatchObject({ ok: false, error: 'rate-limited' })
      expect(overSocket).toMatchObject({ ok: false, error: 'rate-limited' })
      sock.close()
      await waitFor(() => sock.closed())
      return
    }
    sock.close()
    ctx.skip('none of three bursts took under one refill second')
  })

  it('closes connections beyond the per-address cap with 4429', async () => {
    const open = await Promise.all([1, 2, 3].map(() => openRaw(`${relay.wsBase}/main`)))
    const fourth = await openRaw(`${relay.wsBase}/main?tessera=1`)
    expect((await waitFor(() => fourth.closed())).code).toBe(CloseCode.RateLimited)
    expect(fourth.errors()[0]?.code).toBe('too-many-connections')
    open[0]?.close()
    await waitFor(() => open[0]?.closed())
    const again = await openRaw(`${relay.wsBase}/main`)
    const { frames } = again
    again.ws.send(new Uint8Array([3]))
    await waitFor(() => frames.length > 0, { what: 'an answer on the freed slot' })
    expect(again.closed()).toBeNull()
    for (const s of [...open, again]) s.close()
  })
})

describe('body limit (MAX_BODY_BYTES=1024 here)', () => {
  const big = 'x'.repeat(2 * 1024 * 1024)
  const post = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${relay.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: big,
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('answers a 2 MB body with 413 on every endpoint, also those that never read a body', async () => {
    const { token } = await newSession(relay.url)
    const tooLarge = { status: 413, body: { ok: false, error: 'too-large', message: 'the body exceeds 1024 bytes' } }
    // A new identity, and a renewal (which used to answer 200 without looking at the body).
    expect(await post('/api/session')).toEqual(tooLarge)
    expect(await post('/api/session', { authorization: `Bearer ${token}` })).toEqual(tooLarge)
    expect(await post('/api/boards/main/place', { authorization: `Bearer ${token}` })).toEqual(tooLarge)
    // Routes that answer 404/405/401 without a body get the limit first.
    expect(await post('/api/health')).toEqual(tooLarge)
    expect(await post('/api/admin/boards/main/undo')).toEqual(tooLarge)
    // A body under the limit still reaches the handler.
    const renewed = await fetch(`${relay.url}/api/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' })
    expect(renewed.status).toBe(200)
  })
})

describe('secrets on disk', () => {
  it('keeps the token secret and the admin token readable by the owner only', () => {
    expect(statSync(join(relay.dataDir, 'secret')).mode & 0o777).toBe(0o600)
    expect(statSync(join(relay.dataDir, 'admin-token')).mode & 0o777).toBe(0o600)
  })

  it('sends security headers', async () => {
    const res = await fetch(`${relay.url}/api/boards/main`)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
  })
})

describe('HTTP fuzz', () => {
  it('answers every malformed request with a 4xx and changes nothing', async () => {
    const before = relay.rooms.get('main')?.bitmap().slice() as Uint8Array
    const { token } = await newSession(relay.url)
    let seed = 1234
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return (seed >>> 4) % n
    }
    const paths = [
      '/api/session',
      '/api/boards',
      '/api/boards/main',
      '/api/boards/main/place',
      '/api/boards/main/tiles/1/1',
      '/api/boards/main/tiles/1/1/history',
      '/api/boards/main/snapshot',
      '/api/boards/main/snapshot.png',
      '/api/boards/main/snapshots',
      '/snapshots/main/1.png',
      '/api/admin/audit',
      '/api/admin/boards/main',
      '/api/admin/boards/main/rollback',
      '/api/admin/bans',
    ]
    const mutations = [
      (p: string) => p.replace('main', '..%2F..%2Fetc%2Fpasswd'),
      (p: string) => p.replace('main', 'a'.repeat(300)),
      (p: string) => p.replace('main', '%00'),
      (p: string) => p.replace('main', '%E0%A4%A'),
      (p: string) => p.replace(/\/1(\/|$)/, '/-1$1'),
      (p: string) => p.replace(/\/1(\/|$)/, '/99999999999$1'),
      (p: string) => `${p}?limit=abc&before=-1&version=x&at=never`,
      (p: string) => `${p}/../../../../etc/passwd`,
      (p: string) => p,
    ]
    const bodies = ['{', 'null', '[]', '"x"', '{"x":1e400,"y":1,"color":1}', '{"x":{"$gt":1},"y":1,"color":1}', 'x'.repeat(2000), '']
    const tokens = [null, token, 'v1.AAAAAAAAAAAAAAAA.0.AAAA', 'Bearer', `${token}'--`]
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']
    const statuses = new Map<number, number>()
    for (let i = 0; i < 400; i++) {
      const path = (mutations[rand(mutations.length)] as (p: string) => string)(paths[rand(paths.length)] as string)
      const method = methods[rand(methods.length)] as string
      const t = tokens[rand(tokens.length)]
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (t) headers.authorization = `Bearer ${t}`
      const init: RequestInit = { method, headers }
      if (method !== 'GET') init.body = bodies[rand(bodies.length)] as string
      const res = await fetch(`${relay.url}${path}`, init)
      await res.arrayBuffer()
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      expect(res.status, `${method} ${path}`).toBeLessThan(500)
    }
    // The fuzz reached past the front door: several kinds of answer, not one blanket refusal.
    expect(statuses.size).toBeGreaterThanOrEqual(4)
    expect(Buffer.compare(relay.rooms.get('main')?.bitmap() as Uint8Array, before)).toBe(0)
    expect((await fetch(`${relay.url}/api/health`)).status).toBe(200)
    expect((await adminCall(relay.url, null, 'GET', '/audit')).status).toBe(401)
  })
})
