/**
 * Issue 16: the client's address through an edge relay. An admin call forwarded by an edge is
 * replayed by the writer through its own handler over loopback, yet the writer's audit log names
 * the edge's client (as the edge resolved it behind TRUST_PROXY), not 127.0.0.1; the headers
 * that carry it are believed only on the writer's own replays (relay/replay-address.ts), never
 * from a client, whether sent to the writer directly or through an edge. With PER_IP_COOLDOWN,
 * a placement through one edge puts its address on cooldown in the Session frames of the other
 * edge's sockets from that address (the writer publishes address pseudonyms with its commits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lastSession, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'edge-address-token-0123456789abcdef'
const COOLDOWN_MS = 600_000
let rig: EdgeRig
beforeAll(async () => {
  rig = await startEdgeRig({
    edges: 1,
    boards: [{ id: 'main', width: 32, height: 32, shardSize: 16, cooldownMs: COOLDOWN_MS }],
    // Every relay trusts X-Forwarded-For from loopback: the test process is each one's "proxy".
    env: { ADMIN_TOKEN: ADMIN, TRUST_PROXY: 'loopback', PER_IP_COOLDOWN: 'true' },
  })
  // The second edge without the setting: an edge keeps what the writer publishes whatever its own.
  await rig.addEdge({ PER_IP_COOLDOWN: 'false' })
}, 120_000)
afterAll(async () => {
  await rig?.tearDown()
})

type AuditEntry = { action: string; actor: string; address?: string; details: { target?: string } }

/** An admin call with extra request headers. */
const admin = async (base: string, method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}/api/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** The writer's audit entry of the ban of `target`. */
const banEntry = async (target: string): Promise<AuditEntry | undefined> => {
  const audit = await admin(rig.writer.proc.url, 'GET', '/audit?limit=50', undefined)
  return (audit.body.entries as AuditEntry[]).find((e) => e.action === 'ban' && e.details.target === target)
}

describe('the client address through an edge', () => {
  it("names the edge's client in the writer's audit log, and believes no client that claims an address", async () => {
    const [edge1, edge2] = rig.edges.map((e) => e.proc.url) as [string, string]
    const w = rig.writer.proc.url
    // Through edge 1 from 203.0.113.7 (as the edge's trusted proxy says).
    const viaEdge = await admin(
      edge1,
      'POST',
      '/bans',
      { ip: '192.0.2.1', reason: 'through an edge' },
      { 'x-forwarded-for': '203.0.113.7' },
    )
    expect(viaEdge.status, JSON.stringify(viaEdge.body)).toBe(200)
    expect(await banEntry('192.0.2.1')).toMatchObject({ actor: 'admin', address: '203.0.113.7' })

    // A client naming an address in the replay's header, through an edge: the edge sends only its own resolution.
    const forgedViaEdge = await admin(
      edge2,
      'POST',
      '/bans',
      { ip: '192.0.2.2', reason: 'forged through an edge' },
      { 'x-forwarded-for': '203.0.113.8', 'x-tessera-replay-address': '198.51.100.9', 'x-tessera-replay-secret': 'guess' },
    )
    expect(forgedViaEdge.status).toBe(200)
    expect((await banEntry('192.0.2.2'))?.address).toBe('203.0.113.8')

    // Directly to the writer, claiming an address without the writer's secret (or with a wrong one): not believed.
    for (const [i, secret] of [
      [3, undefined],
      [4, 'not-the-secret'],
      [5, ''],
    ] as const) {
      const headers: Record<string, string> = { 'x-tessera-replay-address': '198.51.100.9' }
      if (secret !== undefined) headers['x-tessera-replay-secret'] = secret
      const direct = await admin(w, 'POST', '/bans', { ip: `192.0.2.${i}`, reason: 'forged' }, headers)
      expect(direct.status).toBe(200)
      expect((await banEntry(`192.0.2.${i}`))?.address).toBe('127.0.0.1')
    }
    // A direct call behind the writer's own trusted proxy is named as that proxy says, as before.
    expect((await admin(w, 'POST', '/bans', { ip: '192.0.2.6', reason: 'direct' }, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(200)
    expect((await banEntry('192.0.2.6'))?.address).toBe('203.0.113.9')
  })
})

describe('per-address cooldowns across edges', () => {
  it("put an address's sockets on every edge on cooldown after a placement through one, in their Session frames", async () => {
    const [edge1, edge2] = rig.edges as [(typeof rig.edges)[0], (typeof rig.edges)[0]]
    const A = { 'x-forwarded-for': '203.0.113.20' }
    const B = { 'x-forwarded-for': '203.0.113.21' }
    const page = async (headers: Record<string, string>) => {
      const who = await newSession(edge2.proc.url)
      const sock = await openRaw(`${edge2.proc.wsBase}/main?tessera=1&token=${who.token}`, headers)
      await waitFor(() => lastSession(sock), { what: 'a Session frame on edge 2' })
      return sock
    }
    // Open before the placement: a page from A and one from B, both ready.
    const before = await page(A)
    const other = await page(B)
    expect(lastSession(before)?.nextPlaceAt).toBe(0)

    const placer = await newSession(edge1.proc.url)
    const placed = await placeHttp(edge1.proc.url, placer.token, { x: 3, y: 3, color: 2 }, 'main', A)
    expect(placed.body, JSON.stringify(placed.body)).toMatchObject({ ok: true })
    const until = placed.body.nextPlaceAt as number
    expect(until).toBeGreaterThan(0)

    // The page from A on edge 2 is told (another identity, another edge), the page from B is not.
    await waitFor(() => lastSession(before)?.nextPlaceAt === until, { what: "A's cooldown in the open page's Session frame" })
    // A page from A opened now starts on cooldown.
    const after = await page(A)
    expect(lastSession(after)?.nextPlaceAt).toBe(until)
    // And the writer refuses its placement, as before.
    const refused = await after.place(4, 4, 2)
    expect(refused).toMatchObject({ ok: false, error: 'cooldown' })
    // Address B was never on cooldown: its page says so, and it may place.
    expect(lastSession(other)?.nextPlaceAt).toBe(0)
    expect(await other.place(5, 5, 2)).toMatchObject({ ok: true })
    for (const s of [before, other, after]) s.close()
  })
})
