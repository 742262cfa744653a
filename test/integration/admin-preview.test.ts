/**
 * The admin API's reads for the moderation page (docs/PROTOCOL.md "Admin API"): a rollback's
 * preview (its dry run) against a real relay, compared with what the rollback then writes, and
 * the board's activity counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCall } from '../helpers/admin.ts'
import { newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-preview-0123'
let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({
    env: { ADMIN_TOKEN: ADMIN },
    boards: [{ id: 'main', width: 32, height: 32, cooldownMs: 0, shardSize: 16 }],
  })
})
afterAll(async () => {
  await relay.stop()
})

const bitmap = () => relay.rooms.get('main')?.bitmap() as Uint8Array
const colorAt = (x: number, y: number) => bitmap()[y * 32 + x]

const place = async (token: string, x: number, y: number, color: number) => {
  const r = await placeHttp(relay.url, token, { x, y, color })
  expect(r.status, JSON.stringify(r.body)).toBe(200)
}

describe('rollback preview', () => {
  it('lists exactly the tiles the rollback then changes, with their colours, and writes nothing', async () => {
    const alice = await newSession(relay.url)
    const bob = await newSession(relay.url)
    await place(alice.token, 1, 1, 2)
    await place(alice.token, 2, 1, 2)
    await place(bob.token, 1, 1, 5) // bob over alice: rolling bob back restores alice's 2
    await place(bob.token, 3, 1, 6) // bob alone: restores 0
    await place(bob.token, 2, 1, 2) // bob's colour equals what it restores: not a change
    await place(alice.token, 4, 1, 3) // alice over bob after bob: keeps alice's colour
    await place(bob.token, 4, 1, 7)
    await place(alice.token, 4, 1, 3)
    const before = bitmap().slice()
    const auditBefore = (await adminCall(relay.url, ADMIN, 'GET', '/audit')).body.entries as unknown[]

    const preview = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback/preview', { user: bob.user })
    expect(preview.status).toBe(200)
    expect(preview.body).toMatchObject({ ok: true, placements: 4, tiles: 2, truncated: false })
    const changes = preview.body.changes as { x: number; y: number; color: number; was: number }[]
    expect(changes.sort((a, b) => a.x - b.x)).toEqual([
      { x: 1, y: 1, color: 2, was: 5 },
      { x: 3, y: 1, color: 0, was: 6 },
    ])
    // Nothing written: the board, the tile history and the audit log are as they were.
    expect(Buffer.compare(bitmap(), before)).toBe(0)
    const history = await fetch(`${relay.url}/api/boards/main/tiles/1/1/history`).then((r) => r.json())
    expect(history.placements.every((p: { rolledBack: boolean }) => !p.rolledBack)).toBe(true)
    expect((await adminCall(relay.url, ADMIN, 'GET', '/audit')).body.entries).toEqual(auditBefore)

    // The rollback then changes the same tiles to the same colours.
    const done = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback', { user: bob.user })
    expect(done.body).toMatchObject({ ok: true, placements: 4, tiles: 2 })
    for (const c of changes) expect(colorAt(c.x, c.y)).toBe(c.color)
    expect(colorAt(2, 1)).toBe(2)
    expect(colorAt(4, 1)).toBe(3)

    // After it, a preview of the same filter changes nothing more.
    const again = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback/preview', { user: bob.user })
    expect(again.body).toMatchObject({ ok: true, tiles: 0, changes: [] })
  })

  it('honours a time range and a rectangle, and refuses an empty filter', async () => {
    const carol = await newSession(relay.url)
    await place(carol.token, 10, 10, 4)
    const t = Date.now() + 1
    while (Date.now() <= t) await new Promise((r) => setImmediate(r))
    await place(carol.token, 11, 10, 4)
    await place(carol.token, 20, 20, 4)
    const from = (await fetch(`${relay.url}/api/boards/main/tiles/11/10`).then((r) => r.json())).placedAt as number
    const inRange = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback/preview', {
      user: carol.user,
      from,
      rect: { x: 0, y: 0, w: 16, h: 16 },
    })
    expect(inRange.body).toMatchObject({ placements: 1, tiles: 1, changes: [{ x: 11, y: 10, color: 0, was: 4 }] })
    const empty = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback/preview', {})
    expect(empty.status).toBe(400)
    expect((await adminCall(relay.url, 'wrong', 'POST', '/boards/main/rollback/preview', { user: carol.user })).status).toBe(403)
  })
})

describe('board activity', () => {
  it('counts people online and the last minute of placements (not fills)', async () => {
    const before = (await adminCall(relay.url, ADMIN, 'GET', '/boards/main/activity')).body
    expect(before).toMatchObject({ ok: true, online: 0, capped: false })
    const dave = await newSession(relay.url)
    await place(dave.token, 30, 30, 1)
    await place(dave.token, 31, 30, 1)
    await adminCall(relay.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 28, w: 4, h: 4, color: 3 })
    const after = (await adminCall(relay.url, ADMIN, 'GET', '/boards/main/activity')).body
    expect(after.placementsPerMinute).toBe((before.placementsPerMinute as number) + 2)
    // A Tessera socket with an identity counts as one person online (as BoardInfo.online).
    const viewer = await openRaw(`${relay.wsBase}/main?tessera=1&token=${dave.token}`)
    try {
      await waitFor(async () => (await adminCall(relay.url, ADMIN, 'GET', '/boards/main/activity')).body.online === 1, {
        what: 'one person online',
      })
    } finally {
      viewer.close()
    }
  })
})
