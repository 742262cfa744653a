/**
 * The admin API against a real relay, observed from ordinary clients (an official y-websocket
 * provider and the public HTTP API): live settings, bans, protections, fill, rollback and undo,
 * audit, tile history and the CSV export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readBoardBitmap, readDocConfig } from '../../shared/doc-schema.ts'
import { adminCall } from '../helpers/admin.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-0123456789'
let relay: TestRelay
let viewer: Awaited<ReturnType<typeof connectProvider>>
beforeAll(async () => {
  relay = await startTestRelay({
    env: { ADMIN_TOKEN: ADMIN },
    boards: [
      { id: 'main', width: 64, height: 48, cooldownMs: 0, shardSize: 16 },
      { id: 'calm', width: 32, height: 32, cooldownMs: 0, shardSize: 16 },
    ],
  })
  viewer = await connectProvider(relay.wsBase, 'calm')
})
afterAll(async () => {
  viewer.close()
  await relay.stop()
})

const bitmap = (id = 'calm') => relay.rooms.get(id)?.bitmap() as Uint8Array
const viewerSees = () => {
  const config = readDocConfig(viewer.doc)
  return config ? readBoardBitmap(viewer.doc, config.width, config.height) : new Uint8Array()
}

describe('admin identity', () => {
  it('refuses calls without the admin token and changes nothing', async () => {
    const { token } = await newSession(relay.url)
    const before = bitmap().slice()
    for (const t of [null, token, 'x'.repeat(ADMIN.length), `${ADMIN}x`]) {
      const r = await adminCall(relay.url, t, 'POST', '/boards/calm/fill', { x: 0, y: 0, w: 4, h: 4, color: 3 })
      expect(r.status, String(t)).toBe(t === null ? 401 : 403)
      expect((await adminCall(relay.url, t, 'PATCH', '/boards/calm', { cooldownMs: 1 })).status).toBe(t === null ? 401 : 403)
      expect((await adminCall(relay.url, t, 'POST', '/bans', { user: 'x' })).status).toBe(t === null ? 401 : 403)
    }
    expect(sameBytes(bitmap(), before)).toBe(true)
    expect(relay.rooms.get('calm')?.config().cooldownMs).toBe(0)
    const audit = await adminCall(relay.url, ADMIN, 'GET', '/audit')
    expect(audit.body.entries).toEqual([])
  })
})

describe('live board settings', () => {
  it('changes cooldown, lock, palette and size live, seen by a connected provider', async () => {
    const version = readDocConfig(viewer.doc)?.version as number
    const user = await newSession(relay.url)
    const r = await adminCall(relay.url, ADMIN, 'PATCH', '/boards/calm', { cooldownMs: 60_000 })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ id: 'calm', cooldownMs: 60_000 })
    await waitFor(() => readDocConfig(viewer.doc)?.cooldownMs === 60_000, { what: 'new cooldown in the document' })
    expect(readDocConfig(viewer.doc)?.version).toBe(version + 1)
    expect(((await (await fetch(`${relay.url}/api/boards/calm`)).json()) as { cooldownMs: number }).cooldownMs).toBe(60_000)
    expect((await placeHttp(relay.url, user.token, { x: 1, y: 1, color: 1 }, 'calm')).status).toBe(200)
    expect((await placeHttp(relay.url, user.token, { x: 2, y: 1, color: 1 }, 'calm')).status).toBe(429)
    await adminCall(relay.url, ADMIN, 'PATCH', '/boards/calm', { cooldownMs: 0 })

    // Grow: the new area is placeable at once and the provider learns the new size.
    const grown = await adminCall(relay.url, ADMIN, 'PATCH', '/boards/calm', {
      width: 40,
      height: 36,
      palette: [...(r.body.palette as string[]), '#123456'],
    })
    expect(grown.status).toBe(200)
    await waitFor(() => readDocConfig(viewer.doc)?.width === 40)
    const other = await newSession(relay.url)
    expect((await placeHttp(relay.url, other.token, { x: 39, y: 35, color: 16 }, 'calm')).status).toBe(200)
    await waitFor(() => viewerSees()[35 * 40 + 39] === 16, { what: 'placement in the grown area' })
    expect(sameBytes(viewerSees(), bitmap())).toBe(true)

    // Shrinking, reordering colours and unknown fields are refused and change nothing.
    for (const patch of [{ width: 39 }, { palette: ['#000000', '#ffffff'] }, { shardSize: 32 }, { id: 'x' }, { cooldownMs: -5 }]) {
      const bad = await adminCall(relay.url, ADMIN, 'PATCH', '/boards/calm', patch)
      expect(bad.status, JSON.stringify(patch)).toBe(400)
    }
    expect(relay.rooms.get('calm')?.config()).toMatchObject({ width: 40, height: 36, cooldownMs: 0 })

    // Lock: users are refused, admins may still place (without cooldown).
    await adminCall(relay.url, ADMIN, 'PATCH', '/boards/calm', { locked: true })
    const locked = await placeHttp(relay.url, other.token, { x: 3, y: 3, color: 3 }, 'calm')
    expect(locked.status).toBe(403)
    expect(locked.body.error).toBe('locked')
    expect((await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/place', { x: 3, y: 3, color: 3 })).status).toBe(200)
    expect((await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/place', { x: 4, y: 3, color: 3 })).status).toBe(200)
    await adminCall(relay.url, ADMIN, 'PATCH', '/boards/calm', { locked: false })
    expect((await placeHttp(relay.url, other.token, { x: 5, y: 3, color: 3 }, 'calm')).status).toBe(200)
  })
})

describe('bans and protected rectangles', () => {
  it('refuses banned identities and addresses with 403 and the reason, until unbanned', async () => {
    const a = await newSession(relay.url)
    expect((await adminCall(relay.url, ADMIN, 'POST', '/bans', { user: a.user, reason: 'griefing' })).status).toBe(200)
    const refused = await placeHttp(relay.url, a.token, { x: 1, y: 2, color: 2 }, 'calm')
    expect(refused.status).toBe(403)
    expect(refused.body).toMatchObject({ error: 'banned', message: 'griefing' })
    expect(((await adminCall(relay.url, ADMIN, 'GET', '/bans')).body.bans as unknown[]).length).toBe(1)
    expect((await adminCall(relay.url, ADMIN, 'DELETE', `/bans/user/${a.user}`)).status).toBe(200)
    expect((await adminCall(relay.url, ADMIN, 'DELETE', `/bans/user/${a.user}`)).status).toBe(404)
    expect((await placeHttp(relay.url, a.token, { x: 1, y: 2, color: 2 }, 'calm')).status).toBe(200)
    // By address: every identity from 127.0.0.1.
    await adminCall(relay.url, ADMIN, 'POST', '/bans', { ip: '127.0.0.1', reason: 'flood' })
    const b = await newSession(relay.url)
    expect((await placeHttp(relay.url, b.token, { x: 1, y: 2, color: 2 }, 'calm')).status).toBe(403)
    await adminCall(relay.url, ADMIN, 'DELETE', '/bans/ip/127.0.0.1')
    expect((await placeHttp(relay.url, b.token, { x: 1, y: 2, color: 2 }, 'calm')).status).toBe(200)
  })

  it('protects rectangles from everyone but admins', async () => {
    const a = await newSession(relay.url)
    const p = await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/protections', { x: 10, y: 10, w: 5, h: 5 })
    expect(p.status).toBe(200)
    const id = (p.body.protection as { id: number }).id
    const refused = await placeHttp(relay.url, a.token, { x: 12, y: 14, color: 2 }, 'calm')
    expect(refused.status).toBe(403)
    expect(refused.body.error).toBe('protected')
    expect((await placeHttp(relay.url, a.token, { x: 15, y: 14, color: 2 }, 'calm')).status).toBe(200)
    expect((await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/place', { x: 12, y: 14, color: 2 })).status).toBe(200)
    expect((await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/protections', { x: 30, y: 30, w: 50, h: 1 })).status).toBe(400)
    expect((await adminCall(relay.url, ADMIN, 'DELETE', `/boards/calm/protections/${id}`)).status).toBe(200)
    expect((await placeHttp(relay.url, a.token, { x: 12, y: 13, color: 2 }, 'calm')).status).toBe(200)
  })
})

describe('fill and blank', () => {
  it('writes rectangles as ordinary updates and says how many tiles changed', async () => {
    const fill = await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/fill', { x: 20, y: 20, w: 4, h: 3, color: 7 })
    expect(fill.status).toBe(200)
    expect(fill.body.tiles).toBe(12)
    await waitFor(() => viewerSees()[22 * 40 + 23] === 7)
    const again = await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/fill', { x: 20, y: 20, w: 4, h: 3, color: 7 })
    expect(again.body.tiles).toBe(0)
    const blank = await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/blank', { x: 20, y: 20, w: 2, h: 1 })
    expect(blank.body.tiles).toBe(2)
    await waitFor(() => viewerSees()[20 * 40 + 20] === 0)
    expect(sameBytes(viewerSees(), bitmap())).toBe(true)
    expect((await adminCall(relay.url, ADMIN, 'POST', '/boards/calm/fill', { x: 0, y: 0, w: 4, h: 3, color: 99 })).status).toBe(400)
  })
})

describe('rollback', () => {
  it('matches a recomputation from the placement log, and undo restores the board exactly', async () => {
    type Placed = { x: number; y: number; color: number; user: string; at: number }
    const log: Placed[] = []
    const users = await Promise.all(Array.from({ length: 5 }, () => newSession(relay.url)))
    let seed = 3
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return (seed >>> 8) % n
    }
    for (let i = 0; i < 400; i++) {
      const u = users[rand(users.length)] as { token: string; user: string }
      const x = rand(12)
      const y = rand(10)
      const color = 1 + rand(15)
      const r = await placeHttp(relay.url, u.token, { x, y, color })
      expect(r.status).toBe(200)
      log.push({ x, y, color, user: u.user, at: r.body.placedAt as number })
    }
    const main = () => relay.rooms.get('main')?.bitmap() as Uint8Array
    const recompute = (excluded: (p: Placed) => boolean) => {
      const board = new Uint8Array(64 * 48)
      for (const p of log) if (!excluded(p)) board[p.y * 64 + p.x] = p.color
      return board
    }
    expect(
      sameBytes(
        main(),
        recompute(() => false),
      ),
    ).toBe(true)
    const mainViewer = await connectProvider(relay.wsBase, 'main')

    const griefer = (users[0] as { user: string }).user
    const byUser = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback', { user: griefer })
    expect(byUser.status).toBe(200)
    const expected = recompute((p) => p.user === griefer)
    expect(sameBytes(main(), expected)).toBe(true)
    const before = recompute(() => false)
    expect(byUser.body.tiles).toBe(expected.reduce((n, c, i) => n + (c === before[i] ? 0 : 1), 0))
    expect(byUser.body.placements).toBe(log.filter((p) => p.user === griefer).length)
    await waitFor(() => sameBytes(readBoardBitmap(mainViewer.doc, 64, 48), expected), { what: 'viewer sees the rollback' })

    // A second rollback by rectangle and time range composes with the first.
    const mid = (log[200] as Placed).at
    const rect = { x: 0, y: 0, w: 6, h: 5 }
    const inRect = (p: Placed) => p.x < 6 && p.y < 5 && p.at >= mid
    const second = await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback', { rect, from: mid })
    expect(second.status).toBe(200)
    expect(
      sameBytes(
        main(),
        recompute((p) => p.user === griefer || inRect(p)),
      ),
    ).toBe(true)

    // Undo the first: only the second remains in force.
    const undo = await adminCall(relay.url, ADMIN, 'POST', `/boards/main/rollbacks/${byUser.body.id}/undo`)
    expect(undo.status).toBe(200)
    expect(sameBytes(main(), recompute(inRect))).toBe(true)
    // Undo the second: the board is as it was before any rollback.
    await adminCall(relay.url, ADMIN, 'POST', `/boards/main/rollbacks/${second.body.id}/undo`)
    expect(sameBytes(main(), before)).toBe(true)
    await waitFor(() => sameBytes(readBoardBitmap(mainViewer.doc, 64, 48), before), { what: 'viewer sees the undo' })
    expect((await adminCall(relay.url, ADMIN, 'POST', `/boards/main/rollbacks/${second.body.id}/undo`)).status).toBe(404)
    expect((await adminCall(relay.url, ADMIN, 'POST', '/boards/main/rollback', {})).status).toBe(400)

    // Tile info follows restores: a tile restored to an earlier placement names its placer.
    const lastOnTile = [...log].reverse().find((p) => p.x === 3 && p.y === 3)
    const tile = await (await fetch(`${relay.url}/api/boards/main/tiles/3/3`)).json()
    expect(tile).toMatchObject(lastOnTile ? { color: lastOnTile.color, user: lastOnTile.user, placedAt: lastOnTile.at } : { color: 0 })

    // Tile history: newest first, paginated, with rolled-back flags.
    const onTile = log.filter((p) => p.x === 3 && p.y === 3).reverse()
    const page1 = (await (await fetch(`${relay.url}/api/boards/main/tiles/3/3/history?limit=2`)).json()) as {
      placements: { user: string; color: number; placedAt: number; rolledBack: boolean }[]
      next: number | null
    }
    expect(page1.placements.map((p) => p.placedAt)).toEqual(onTile.slice(0, 2).map((p) => p.at))
    const page2 = (await (await fetch(`${relay.url}/api/boards/main/tiles/3/3/history?limit=500&before=${page1.next}`)).json()) as {
      placements: { placedAt: number }[]
      next: number | null
    }
    expect(page2.placements.map((p) => p.placedAt)).toEqual(onTile.slice(2).map((p) => p.at))
    expect(page2.next).toBeNull()
    expect((await fetch(`${relay.url}/api/boards/main/tiles/3/3/history?limit=0`)).status).toBe(400)
    mainViewer.close()
  })
})

describe('audit and export', () => {
  it('writes an audit entry for every admin action, newest first', async () => {
    const audit = await adminCall(relay.url, ADMIN, 'GET', '/audit?limit=1000')
    const actions = (audit.body.entries as { action: string; tiles: number; actor: string; at: number }[]).map((e) => e.action)
    for (const a of ['update-board', 'place', 'ban', 'unban', 'protect', 'unprotect', 'fill', 'blank', 'rollback', 'undo-rollback']) {
      expect(actions, a).toContain(a)
    }
    const entries = audit.body.entries as { seq: number }[]
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((x, y) => y - x))
  })

  it('streams the placement history as CSV with pseudonymous users', async () => {
    const res = await fetch(`${relay.url}/api/admin/boards/main/history.csv`, { headers: { authorization: `Bearer ${ADMIN}` } })
    expect(res.status).toBe(200)
    const lines = (await res.text()).trim().split('\n')
    expect(lines[0]).toBe('placed_at,user,x,y,color,kind')
    expect(lines.length - 1).toBe(Number(res.headers.get('x-total-records')))
    const [at, user, x, y, color, kind] = (lines[1] as string).split(',')
    expect(Number.isNaN(Date.parse(at as string))).toBe(false)
    expect(user).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(Number(x)).toBeGreaterThanOrEqual(0)
    expect(Number(y)).toBeGreaterThanOrEqual(0)
    expect(color).toMatch(/^#[0-9a-f]{6}$/)
    expect(kind).toBe('placement')
    expect(lines.some((l) => l.endsWith(',restore'))).toBe(true)
  })
})
