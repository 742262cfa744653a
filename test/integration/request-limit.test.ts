/**
 * The per-address limits on tile reads (TILE_READS_PER_IP_PER_SECOND) and admin calls
 * (ADMIN_CALLS_PER_IP_PER_SECOND), relay/request-limit.ts: a burst over one from one address is
 * refused 429 `rate-limited` with Retry-After (tile reads on both routes; admin calls before the
 * token is checked), while another address goes on; and scaled out, an edge counts the reads and
 * admin calls it forwards to the writer before they leave it, and the writer does not count its
 * replays of them again (nor those of an edge of before the address field).
 */

import { connect } from '@nats-io/transport-node'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeAdminReply, encodeAdminRequest, READ_SUBJECT, SEQ_HEADER } from '../../shared/stream-messages.ts'
import { adminCall } from '../helpers/admin.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { lookAtStream } from '../helpers/stream-reader.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'request-limit-token-0123456789abcdefgh'
let relay: TestRelay | null = null
let rig: EdgeRig | null = null
afterEach(async () => {
  await relay?.stop()
  relay = null
  await rig?.tearDown()
  rig = null
})

type Read = { status: number; retryAfter: string | null; body: Record<string, unknown> }

/** One tile read (every other one the history route) from `address` (X-Forwarded-For: each relay trusts loopback). */
const read = async (base: string, address: string, i: number): Promise<Read> => {
  const path = `/api/boards/main/tiles/${i % 8}/3${i % 2 === 1 ? '/history' : ''}`
  const res = await fetch(`${base}${path}`, { headers: { 'x-forwarded-for': address } })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> }
}

/** `n` reads at once from `address`. */
const burst = (base: string, address: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => read(base, address, i)))

/** One admin call (the audit log's first entries) from `address`, with the token or a wrong one. */
const call = async (base: string, address: string, token: string): Promise<Read> => {
  const res = await fetch(`${base}/api/admin/audit?limit=1`, { headers: { 'x-forwarded-for': address, authorization: `Bearer ${token}` } })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> }
}

/** `n` admin calls at once from `address`. */
const calls = (base: string, address: string, n: number, token = ADMIN) =>
  Promise.all(Array.from({ length: n }, () => call(base, address, token)))

/**
 * With 1 request a second and 2 at once, 12 sent together: at most 2 + (the seconds they took)
 * are answered (`answered`: 200, or 403 for a wrong admin token), the others are refused, each
 * as every 429 of a per-address rate is.
 */
const expectLimited = (reads: Read[], what = /tile reads/, answered = 200) => {
  const refused = reads.filter((r) => r.status === 429)
  expect(reads.filter((r) => r.status === answered).length).toBeGreaterThanOrEqual(2)
  expect(refused.length).toBeGreaterThan(0)
  expect(refused.length + reads.filter((r) => r.status === answered).length).toBe(reads.length)
  for (const r of refused) {
    expect(r.body).toMatchObject({ ok: false, error: 'rate-limited', retryAfterMs: 1000 })
    expect(r.body.message).toMatch(what)
    expect(r.retryAfter).toBe('1')
  }
}

describe('the per-address limits on tile reads and admin calls', () => {
  it('refuses a burst from one address 429 with Retry-After, and another address reads on', async () => {
    relay = await startTestRelay({
      boards: [{ id: 'main', width: 16, height: 16, cooldownMs: 0 }],
      env: { TILE_READS_PER_IP_PER_SECOND: '1', TRUST_PROXY: 'loopback' },
    })
    expectLimited(await burst(relay.url, '203.0.113.60', 12))
    // Another address has its own allowance, whole, on both routes.
    const other = await burst(relay.url, '203.0.113.61', 2)
    expect(other.map((r) => r.status)).toEqual([200, 200])
    expect(other[0]?.body).toMatchObject({ x: 0, y: 3 })
    expect(other[1]?.body).toMatchObject({ x: 1, y: 3, placements: [] })
  })

  it('refuses a burst of admin calls from one address before their token is checked, and another address calls on', async () => {
    relay = await startTestRelay({
      boards: [{ id: 'main', width: 16, height: 16, cooldownMs: 0 }],
      env: { ADMIN_TOKEN: ADMIN, ADMIN_CALLS_PER_IP_PER_SECOND: '1', TRUST_PROXY: 'loopback' },
    })
    // Wrong tokens are refused 403 while the address has tokens left, then 429 without a look.
    expectLimited(await calls(relay.url, '203.0.113.80', 12, 'not-the-admin-token-0123456789abcdef'), /admin calls/, 403)
    expectLimited(await calls(relay.url, '203.0.113.81', 12), /admin calls/)
    const other = await calls(relay.url, '203.0.113.82', 2)
    expect(other.map((r) => r.status)).toEqual([200, 200])
    expect(other[0]?.body).toMatchObject({ entries: [] })
  })

  it('counts at an edge the reads it forwards to the writer, which does not count them again', async () => {
    // 102,400 records: more than a State for a starting edge carries (the last 100,000), so the
    // edges that start after the stream was purged have a history floor and forward tile reads.
    const side = 320
    rig = await startEdgeRig({
      edges: 0,
      boards: [{ id: 'main', width: side, height: side, shardSize: 64, cooldownMs: 0 }],
      // The writer's limit is low: replays it counted would be refused there.
      env: {
        ADMIN_TOKEN: ADMIN,
        ADMIN_CHUNK_TILES: '200000',
        TRUST_PROXY: 'loopback',
        TILE_READS_PER_IP_PER_SECOND: '1',
        ADMIN_CALLS_PER_IP_PER_SECOND: '1',
      },
    })
    const w = rig.writer.proc.url
    const fill = await adminCall(w, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: side, h: side, color: 5 })
    expect(fill.status, JSON.stringify(fill.body)).toBe(200)
    const { token } = await newSession(w)
    expect((await placeHttp(w, token, { x: 1, y: 3, color: 2 })).status).toBe(200)
    const look = await lookAtStream(rig.nats.url, 'main')
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === String(side * side + 1), { what: 'every commit in the stream' })
    await look.purge()
    await look.close()
    const generous = await rig.addEdge({ TILE_READS_PER_IP_PER_SECOND: '1000000', ADMIN_CALLS_PER_IP_PER_SECOND: '1000000' })
    const strict = await rig.addEdge()

    // Through the generous edge: every forwarded read is answered by the writer (which has a
    // floor of none): it did not count them against the address.
    const through = await burst(generous.proc.url, '203.0.113.70', 12)
    expect(through.map((r) => r.status)).toEqual(through.map(() => 200))
    expect(through[1]?.body).toMatchObject({ x: 1, y: 3, placements: [{ color: 2 }, { color: 5 }] })
    // Through the strict edge: refused there, before they are forwarded.
    expectLimited(await burst(strict.proc.url, '203.0.113.71', 12))
    const other = await burst(strict.proc.url, '203.0.113.72', 2)
    expect(other.map((r) => r.status)).toEqual([200, 200])
    // An edge of before the address field forwards reads without one: the writer does not count
    // them either (as one loopback client, they would be refused here after 2).
    const nc = await connect({ servers: rig.nats.url })
    const replies = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const request = encodeAdminRequest({ method: 'GET', path: '/api/boards/main/tiles/1/3', headers: {}, body: new Uint8Array(0) })
        return decodeAdminReply((await nc.request(READ_SUBJECT, request, { timeout: 10_000 })).data)?.status
      }),
    )
    await nc.close()
    expect(replies).toEqual(replies.map(() => 200))
    // At the writer itself, its own clients are counted as on a single relay.
    expectLimited(await burst(w, '203.0.113.73', 12))

    // Admin calls the same way: all answered by the writer through the generous edge, refused
    // at the strict one (which never asks the writer), counted as usual at the writer itself.
    const answered = await calls(generous.proc.url, '203.0.113.74', 12)
    expect(answered.map((r) => r.status)).toEqual(answered.map(() => 200))
    expectLimited(await calls(strict.proc.url, '203.0.113.75', 12), /admin calls/)
    expectLimited(await calls(w, '203.0.113.76', 12), /admin calls/)
  })
})
