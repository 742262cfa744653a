/**
 * Behaviours docs/PROTOCOL.md states that a third party found undocumented or described wrongly
 * (issue 14, "Docs that match the code"): one test each, against a real relay whose clock the
 * test sets (times in ms since the Unix epoch).
 */

import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageType } from '../../shared/protocol.ts'
import { adminCall } from '../helpers/admin.ts'
import { newSession, openRaw, placeHttp, postSession, solveYielding } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'documented-admin-token-0123456789'
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0)
let clock = T0
let relay: TestRelay
const admin = (method: string, path: string, body?: unknown) => adminCall(relay.url, ADMIN, method, path, body)
const tile = async (board: string, x: number, y: number) =>
  (await (await fetch(`${relay.url}/api/boards/${board}/tiles/${x}/${y}`)).json()) as Record<string, unknown>

beforeAll(async () => {
  relay = await startTestRelay({
    boards: [
      { id: 'main', width: 16, height: 16, cooldownMs: 0 },
      { id: 'slow', width: 16, height: 16, cooldownMs: 60_000 },
    ],
    env: { ADMIN_TOKEN: ADMIN },
    now: () => clock,
  })
})
afterAll(async () => {
  await relay.stop()
})

describe('failures over HTTP', () => {
  it('gives every failure a message, also 5xx ones (503 unavailable, 500 internal)', async () => {
    const { token } = await newSession(relay.url)
    expect((await placeHttp(relay.url, token, { x: 0, y: 0, color: 1 }, 'slow')).status).toBe(200)
    const cooling = await placeHttp(relay.url, token, { x: 1, y: 0, color: 1 }, 'slow')
    expect(cooling.status).toBe(429)
    expect(cooling.body).toEqual({
      ok: false,
      error: 'cooldown',
      retryAfterMs: 60_000,
      message: 'cooling down: one placement per cooldown; wait 60 s',
    })

    // The history store fails every write until released: the first placement waits (it is
    // retried until durable), the next ones are refused 503.
    const history = relay.stores.history
    const append = history.append
    let failedWrites = 0
    history.append = () => {
      failedWrites += 1
      return Promise.reject(new Error('injected: the disk is gone'))
    }
    const held = placeHttp(relay.url, token, { x: 2, y: 2, color: 2 })
    await waitFor(() => failedWrites > 0, { what: 'a failed history write' })
    const refused = await placeHttp(relay.url, token, { x: 3, y: 3, color: 3 })
    expect(refused.status).toBe(503)
    expect(refused.body).toEqual({ ok: false, error: 'unavailable', message: 'the relay cannot write to its storage' })
    history.append = append
    expect((await held).status).toBe(200)

    // A bug (here an injected one) is a 500 with the same shape.
    const tileHistory = history.tileHistory
    history.tileHistory = () => Promise.reject(new Error('injected'))
    const failed = await fetch(`${relay.url}/api/boards/main/tiles/2/2/history`)
    history.tileHistory = tileHistory
    expect(failed.status).toBe(500)
    expect(await failed.json()).toEqual({ ok: false, error: 'internal', message: 'the relay failed to answer; see its log' })
  })
})

describe('admin writes, rollbacks and what tiles say', () => {
  it('answers an admin place like a placement, with nextPlaceAt = placedAt (no cooldown)', async () => {
    clock = T0 + 1_000
    const placed = await admin('POST', '/boards/slow/place', { x: 5, y: 5, color: 4 })
    expect(placed).toEqual({ status: 200, body: { ok: true, placedAt: clock, nextPlaceAt: clock } })
    expect(await tile('slow', 5, 5)).toEqual({ x: 5, y: 5, color: 4, user: '@admin', placedAt: clock, name: null, issuer: null })
  })

  it('says a filled tile was written by @admin at the fill time; a tile never written has user and placedAt null', async () => {
    clock = T0 + 2_000
    expect((await admin('POST', '/boards/main/fill', { x: 8, y: 8, w: 2, h: 2, color: 6 })).body).toEqual({ ok: true, tiles: 4 })
    expect(await tile('main', 9, 9)).toEqual({ x: 9, y: 9, color: 6, user: '@admin', placedAt: T0 + 2_000, name: null, issuer: null })
    expect(await tile('main', 15, 15)).toEqual({ x: 15, y: 15, color: 0, user: null, placedAt: null, name: null, issuer: null })
  })

  it('rolls back placements with from <= placedAt <= to (both ends inclusive), and fills are targets too', async () => {
    const { token, user } = await newSession(relay.url)
    for (const [i, x] of [0, 1, 2, 3].entries()) {
      clock = T0 + 10_000 + i * 1_000
      expect((await placeHttp(relay.url, token, { x, y: 12, color: 2 })).status).toBe(200)
    }
    // Placed at +10 s, +11 s, +12 s, +13 s: from +11 s to +12 s takes exactly the middle two.
    clock = T0 + 20_000
    const rb = await admin('POST', '/boards/main/rollback', { user, from: T0 + 11_000, to: T0 + 12_000 })
    expect(rb.body).toMatchObject({ ok: true, placements: 2, tiles: 2 })
    expect([0, 1, 2, 3].map((x) => relay.rooms.get('main')?.bitmap()[12 * 16 + x])).toEqual([2, 0, 0, 2])
    // A rolled-back tile with no earlier placement: colour 0, nobody.
    expect(await tile('main', 1, 12)).toEqual({ x: 1, y: 12, color: 0, user: null, placedAt: null, name: null, issuer: null })

    // Undo: `placements` is how many placements the rollback had marked, `tiles` how many tiles
    // changed colour again.
    const undo = await admin('POST', `/boards/main/rollbacks/${rb.body.id}/undo`)
    expect(undo.body).toEqual({ ok: true, id: rb.body.id, placements: 2, tiles: 2 })
    expect(await tile('main', 1, 12)).toEqual({ x: 1, y: 12, color: 2, user, placedAt: T0 + 11_000, name: null, issuer: null })

    // The fill of 2x2 tiles above (by @admin at +2 s) is rolled back by its rectangle.
    const fills = await admin('POST', '/boards/main/rollback', { rect: { x: 8, y: 8, w: 2, h: 2 } })
    expect(fills.body).toMatchObject({ ok: true, placements: 4, tiles: 4 })
    expect(relay.rooms.get('main')?.bitmap()[9 * 16 + 9]).toBe(0)
  })

  it('exports history.csv with ISO times, #rrggbb colours, the @admin and @restore writers and a kind column', async () => {
    const res = await fetch(`${relay.url}/api/admin/boards/main/history.csv`, { headers: { authorization: `Bearer ${ADMIN}` } })
    const [header, ...rows] = (await res.text()).trim().split('\n')
    expect(header).toBe('placed_at,user,x,y,color,kind')
    const palette = relay.rooms.get('main')?.config().palette as string[]
    expect(rows).toContain(`${new Date(T0 + 2_000).toISOString()},@admin,9,9,${palette[6]},fill`)
    expect(rows.some((r) => /^[^,]+,@restore,1,12,#[0-9a-f]{6},restore$/.test(r))).toBe(true)
    const placement = rows.find((r) => r.endsWith(',placement')) as string
    expect(placement).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,[A-Za-z0-9_-]{16},\d+,\d+,#[0-9a-f]{6},placement$/)
  })
})

describe('WebSocket', () => {
  it('never sends a sync step 1 of its own: it answers the client, then sends updates', async () => {
    const sock = await openRaw(`${relay.wsBase}/main`)
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, MessageType.Sync)
    encoding.writeVarUint(enc, 0)
    encoding.writeVarUint8Array(enc, new Uint8Array([0]))
    sock.send(encoding.toUint8Array(enc))
    const syncKinds = () =>
      sock.frames.flatMap((f) => {
        const dec = decoding.createDecoder(f)
        return decoding.readVarUint(dec) === MessageType.Sync ? [decoding.readVarUint(dec)] : []
      })
    await waitFor(() => syncKinds().includes(1), { what: 'sync step 2' })
    const { token } = await newSession(relay.url)
    expect((await placeHttp(relay.url, token, { x: 7, y: 7, color: 7 })).status).toBe(200)
    await waitFor(() => syncKinds().includes(2), { what: 'a sync update' })
    expect(syncKinds()).not.toContain(0)
    sock.close()
  })
})

describe('identities per address', () => {
  it('is a refilling rate (SESSIONS_PER_IP_PER_HOUR an hour, as a burst) that a restart resets', async () => {
    let t = T0
    const limited = await startTestRelay({ env: { SESSIONS_PER_IP_PER_HOUR: '2' }, now: () => t })
    const dataDir = limited.dataDir
    const attempt = async (url: string): Promise<number> => {
      const asked = (await (await postSession(url)).json()) as { challenge: string; bits: number }
      return (await postSession(url, { challenge: asked.challenge, nonce: await solveYielding(asked.challenge, asked.bits) })).status
    }
    let again: TestRelay | null = null
    try {
      expect([await attempt(limited.url), await attempt(limited.url), await attempt(limited.url)]).toEqual([200, 200, 429])
      // One identity back every half hour (2 an hour).
      t += 29 * 60_000
      expect(await attempt(limited.url)).toBe(429)
      t += 60_000
      expect([await attempt(limited.url), await attempt(limited.url)]).toEqual([200, 429])
      // Kept in memory only: a restart gives the address its whole burst again.
      await limited.close()
      again = await startTestRelay({ dataDir, env: { SESSIONS_PER_IP_PER_HOUR: '2' }, now: () => t })
      expect([await attempt(again.url), await attempt(again.url), await attempt(again.url)]).toEqual([200, 200, 429])
    } finally {
      await again?.close()
      await limited.stop()
    }
  })
})
