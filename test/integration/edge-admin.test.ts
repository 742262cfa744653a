/**
 * Issue 16: admin calls through an edge relay. The edge forwards /api/admin/… to the writer over
 * NATS request/reply and answers with the writer's own answer (same status, headers, bytes):
 * protect, ban and fill made through an edge take effect on both edges' boards (a ban and an
 * unban reach an identity's page on the other edge in its Session frames), a wrong or
 * missing token gets the writer's 403/401, an answer too large for one NATS message is refused
 * with a 503 that says so, and with the writer stopped the edge answers 503 with Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCall } from '../helpers/admin.ts'
import { lastSession, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'edge-admin-token-0123456789abcdef'
let rig: EdgeRig
beforeAll(async () => {
  rig = await startEdgeRig({
    edges: 2,
    boards: [
      { id: 'main', width: 32, height: 32, shardSize: 16, cooldownMs: 0 },
      { id: 'big', width: 256, height: 256, shardSize: 64, cooldownMs: 0 },
    ],
    env: { ADMIN_TOKEN: ADMIN },
  })
}, 120_000)
afterAll(async () => {
  await rig?.tearDown()
})

const edgeUrls = () => rig.edges.map((e) => e.proc.url) as [string, string]

/** The raw answer: status, the headers that matter, the body's bytes. */
const raw = async (url: string, init: RequestInit = {}) => {
  const res = await fetch(url, init)
  const body = Buffer.from(await res.arrayBuffer())
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    disposition: res.headers.get('content-disposition'),
    retryAfter: res.headers.get('retry-after'),
    body,
  }
}

const colorAt = async (base: string, x: number, y: number) =>
  ((await (await fetch(`${base}/api/boards/main/tiles/${x}/${y}`)).json()) as { color: number }).color

describe('admin calls through an edge', () => {
  it('answer as the writer does, byte for byte, and refuse a wrong token with the writer answer', async () => {
    const [a] = edgeUrls()
    const w = rig.writer.proc.url
    const auth = { authorization: `Bearer ${ADMIN}` }
    for (const path of ['/api/admin/bans', '/api/admin/audit?limit=5', '/api/admin/boards/main/protections', '/api/admin/nope']) {
      const [viaEdge, direct] = await Promise.all([raw(`${a}${path}`, { headers: auth }), raw(`${w}${path}`, { headers: auth })])
      expect(viaEdge, path).toEqual(direct)
    }
    const wrong = { authorization: 'Bearer not-the-token' }
    const refused = await raw(`${a}/api/admin/bans`, { headers: wrong })
    expect(refused.status).toBe(403)
    expect(refused).toEqual(await raw(`${w}/api/admin/bans`, { headers: wrong }))
    const missing = await raw(`${a}/api/admin/bans`)
    expect(missing.status).toBe(401)
    expect(missing).toEqual(await raw(`${w}/api/admin/bans`))
    // A wrong token changes nothing.
    expect((await adminCall(a, 'not-the-token', 'POST', '/boards/main/fill', { x: 0, y: 0, w: 2, h: 2, color: 5 })).status).toBe(403)
    expect(await colorAt(w, 0, 0)).toBe(0)
  })

  it('protect, ban and fill through an edge reach both edges', async () => {
    const [a, b] = edgeUrls()
    const w = rig.writer.proc.url
    // Protect through edge A: a placement there through edge B is refused by the writer.
    const protect = await adminCall(a, ADMIN, 'POST', '/boards/main/protections', { x: 0, y: 0, w: 4, h: 4 })
    expect(protect.status, JSON.stringify(protect.body)).toBe(200)
    const person = await newSession(b)
    const onProtected = await placeHttp(b, person.token, { x: 1, y: 1, color: 2 })
    expect(onProtected.status).toBe(403)
    expect(onProtected.body.error).toBe('protected')
    expect((await placeHttp(a, person.token, { x: 10, y: 10, color: 2 })).status).toBe(200)

    // Fill through edge B: both edges' boards show it.
    const fill = await adminCall(b, ADMIN, 'POST', '/boards/main/fill', { x: 16, y: 16, w: 4, h: 4, color: 7 })
    expect(fill.status, JSON.stringify(fill.body)).toBe(200)
    expect(fill.body.tiles).toBe(16)
    for (const base of [w, a, b]) {
      await waitFor(async () => (await colorAt(base, 19, 19)) === 7 && (await colorAt(base, 16, 16)) === 7, { what: `the fill on ${base}` })
    }

    // A path the API decodes to the admin routes is forwarded too: the writer fills, not the edge's own copy.
    const encoded = await fetch(`${a}/api/%61dmin/boards/main/fill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ x: 20, y: 20, w: 2, h: 2, color: 9 }),
    })
    expect(encoded.status).toBe(200)
    for (const base of [w, a, b]) await waitFor(async () => (await colorAt(base, 21, 21)) === 9, { what: `the second fill on ${base}` })

    // Ban through edge A: the identity can place through neither edge, and its page on edge B
    // is told (the writer's bans reach the edges: relay/ban-exchange.ts).
    const page = await openRaw(`${rig.edges[1]?.proc.wsBase}/main?tessera=1&token=${person.token}`)
    await waitFor(() => lastSession(page) !== null, { what: 'a Session frame on edge B' })
    expect(lastSession(page)?.banned).toBeNull()
    const ban = await adminCall(a, ADMIN, 'POST', '/bans', { user: person.user, reason: 'test' })
    expect(ban.status, JSON.stringify(ban.body)).toBe(200)
    for (const base of [a, b]) {
      const placed = await placeHttp(base, person.token, { x: 12, y: 12, color: 3 })
      expect(placed.status).toBe(403)
      expect(placed.body.error).toBe('banned')
    }
    await waitFor(() => lastSession(page)?.banned === 'test', { what: 'the ban in a Session frame on edge B', timeoutMs: 15_000 })
    // The audit log (read through an edge) has all three, each named as the writer names them.
    const audit = await adminCall(b, ADMIN, 'GET', '/audit?limit=10')
    const actions = (audit.body.entries as { action: string }[]).map((e) => e.action)
    expect(actions).toEqual(expect.arrayContaining(['protect', 'fill', 'ban']))
    // Unbanned through edge B: the page hears that too.
    expect((await adminCall(b, ADMIN, 'DELETE', `/bans/user/${person.user}`)).status).toBe(200)
    await waitFor(() => lastSession(page)?.banned === null, { what: 'the unban in a Session frame on edge B', timeoutMs: 15_000 })
    page.close()
  })

  it('passes a history export that fits one NATS message and refuses, saying so, one that does not', async () => {
    const [a] = edgeUrls()
    const w = rig.writer.proc.url
    const auth = { authorization: `Bearer ${ADMIN}` }
    const small = await raw(`${a}/api/admin/boards/main/history.csv`, { headers: auth })
    expect(small.status).toBe(200)
    expect(small).toEqual(await raw(`${w}/api/admin/boards/main/history.csv`, { headers: auth }))
    // 160 x 160 fill records: ~1.3 MB of CSV, more than NATS's default 1 MiB payload.
    const fill = await adminCall(w, ADMIN, 'POST', '/boards/big/fill', { x: 0, y: 0, w: 160, h: 160, color: 3 })
    expect(fill.status, JSON.stringify(fill.body)).toBe(200)
    const direct = await raw(`${w}/api/admin/boards/big/history.csv`, { headers: auth })
    expect(direct.body.length).toBeGreaterThan(1024 * 1024)
    const big = await raw(`${a}/api/admin/boards/big/history.csv`, { headers: auth })
    expect(big.status).toBe(503)
    const said = JSON.parse(big.body.toString()) as { error: string; message: string }
    expect(said.error).toBe('too-large')
    expect(said.message).toMatch(/writer relay/)
  }, 60_000)

  it('answers 503 with Retry-After while the writer is stopped', async () => {
    const [a] = edgeUrls()
    await rig.writer.kill()
    const res = await raw(`${a}/api/admin/bans`, { headers: { authorization: `Bearer ${ADMIN}` } })
    expect(res.status).toBe(503)
    expect(res.retryAfter).toBe('1')
    expect(JSON.parse(res.body.toString()).error).toBe('unavailable')
  })
})
