/** Restarts, kill -9 under load, and a second relay on the same data: nothing acknowledged is lost. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { adminCall } from '../helpers/admin.ts'
import { startChildRelay } from '../helpers/child-relay.ts'
import { connectProvider, newSession, openRaw, placeHttp, type RawSocket } from '../helpers/clients.ts'
import { startTestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const boards: [Record<string, unknown>, Record<string, unknown>] = [
  { id: 'main', width: 256, height: 256, cooldownMs: 0, shardSize: 32 },
  { id: 'slow', width: 32, height: 32, cooldownMs: 600_000 },
]

describe('restart', () => {
  it('restores the board, tile owners, cooldowns and connected clients', async () => {
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    let relay = await startTestRelay({ dataDir: tmp.dir, boards, env: { COMPACT_SHARD_WRITES: '16' } })
    const a = await newSession(relay.url)
    for (let i = 0; i < 300; i++) {
      expect((await placeHttp(relay.url, a.token, { x: (i * 7) % 256, y: (i * 3) % 256, color: i % 16 })).status).toBe(200)
    }
    const placed = await placeHttp(relay.url, a.token, { x: 5, y: 6, color: 7 }, 'slow')
    const before = relay.rooms.get('main')?.bitmap().slice() as Uint8Array
    const tileBefore = await (await fetch(`${relay.url}/api/boards/main/tiles/7/3`)).json()
    const port = relay.port
    const viewer = await connectProvider(relay.wsBase)
    cleanups.push(viewer.close)
    await relay.close()

    relay = await startTestRelay({ dataDir: tmp.dir, boards, env: { PORT: String(port) } })
    cleanups.push(relay.close)
    expect(Buffer.compare(relay.rooms.get('main')?.bitmap() as Uint8Array, before)).toBe(0)
    expect(await (await fetch(`${relay.url}/api/boards/main/tiles/7/3`)).json()).toEqual(tileBefore)
    const again = await placeHttp(relay.url, a.token, { x: 1, y: 1, color: 1 }, 'slow')
    expect(again.status).toBe(429)
    expect(again.body.retryAfterMs).toBeGreaterThan(590_000 - (Date.now() - (placed.body.placedAt as number)))
    // The provider connected before the restart reconnects by itself and sees new placements.
    await placeHttp(relay.url, a.token, { x: 200, y: 200, color: 9 })
    await waitFor(() => readBoardBitmap(viewer.doc, 256, 256)[200 * 256 + 200] === 9, { what: 'viewer reconnected' })
    expect(Buffer.compare(readBoardBitmap(viewer.doc, 256, 256), relay.rooms.get('main')?.bitmap() as Uint8Array)).toBe(0)
  })

  it('keeps live settings, bans and protections; an edited start configuration wins', async () => {
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    const env = { ADMIN_TOKEN: 'admin-token-for-restart-test' }
    const start = () => startTestRelay({ dataDir: tmp.dir, boards, env })
    let relay = await start()
    const user = await newSession(relay.url)
    expect((await adminCall(relay.url, env.ADMIN_TOKEN, 'PATCH', '/boards/main', { cooldownMs: 1234, width: 300 })).status).toBe(200)
    await adminCall(relay.url, env.ADMIN_TOKEN, 'POST', '/bans', { user: user.user, reason: 'spam' })
    await adminCall(relay.url, env.ADMIN_TOKEN, 'POST', '/boards/slow/protections', { x: 0, y: 0, w: 4, h: 4 })
    await relay.close()

    relay = await start()
    expect(relay.rooms.get('main')?.config()).toMatchObject({ cooldownMs: 1234, width: 300 })
    expect((await placeHttp(relay.url, user.token, { x: 1, y: 1, color: 1 })).body).toMatchObject({ error: 'banned', message: 'spam' })
    const other = await newSession(relay.url)
    expect((await placeHttp(relay.url, other.token, { x: 1, y: 1, color: 1 }, 'slow')).body.error).toBe('protected')
    await relay.close()

    // The operator edits the configuration: it applies (and may only grow what was grown live).
    const [mainBoard, slowBoard] = boards
    const edited = [{ ...mainBoard, cooldownMs: 999, width: 320 }, slowBoard]
    relay = await startTestRelay({ dataDir: tmp.dir, boards: edited, env })
    cleanups.push(relay.close)
    expect(relay.rooms.get('main')?.config()).toMatchObject({ cooldownMs: 999, width: 320 })
  })

  it('refuses a second relay on the same DATA_DIR with a clear message', async () => {
    const first = await startTestRelay({})
    cleanups.push(first.stop)
    await expect(startTestRelay({ dataDir: first.dataDir })).rejects.toThrow(/in use by another process/)
    // The first one still serves.
    expect((await fetch(`${first.url}/api/health`)).status).toBe(200)
  })

  it('refuses to start when the configuration would shrink a stored board', async () => {
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    const relay = await startTestRelay({ dataDir: tmp.dir, boards: [{ id: 'main', width: 100, height: 100 }] })
    await relay.close()
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [{ id: 'main', width: 50, height: 100 }] }))
    await expect(startTestRelay({ dataDir: tmp.dir })).rejects.toThrow(/can only grow/)
    // Growing is fine, and the new area is placeable at once.
    const grown = await startTestRelay({ dataDir: tmp.dir, boards: [{ id: 'main', width: 150, height: 100, cooldownMs: 0 }] })
    cleanups.push(grown.close)
    const { token } = await newSession(grown.url)
    expect((await placeHttp(grown.url, token, { x: 149, y: 99, color: 3 })).status).toBe(200)
  })
})

describe('kill -9', () => {
  it('loses no acknowledged placement, and keeps cooldowns', async () => {
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards }))
    const env = { COMPACT_SHARD_WRITES: '64', MESSAGES_PER_SECOND: '100000', MESSAGE_BURST: '100000', ADMIN_TOKEN: 'kill-test-admin-token' }
    const first = await startChildRelay(tmp.dir, env)
    cleanups.push(() => {
      first.child.kill('SIGKILL')
    })
    const slowUser = await newSession(first.url)
    expect((await placeHttp(first.url, slowUser.token, { x: 1, y: 1, color: 1 }, 'slow')).status).toBe(200)

    // Eight sockets place on distinct tiles as fast as they are acknowledged.
    type Ack = { x: number; y: number; color: number; placedAt: number; user: string }
    const acked: Ack[] = []
    let next = 0
    let stop = false
    const sockets: RawSocket[] = []
    const loops = Array.from({ length: 8 }, async () => {
      const s = await newSession(first.url)
      const sock = await openRaw(`${first.wsBase}/main?token=${s.token}`)
      sockets.push(sock)
      while (!stop) {
        const i = next++
        const x = i % 256
        const y = Math.floor(i / 256) % 256
        const color = (i % 15) + 1
        const r = await sock.place(x, y, color).catch(() => null)
        if (!r) return
        if (r.ok) acked.push({ x, y, color, placedAt: r.placedAt, user: s.user })
      }
    })
    await waitFor(() => acked.length >= 1500, { timeoutMs: 60_000, what: '1,500 acknowledged placements' })
    first.child.kill('SIGKILL')
    stop = true
    await first.exited
    await Promise.all(loops)
    for (const s of sockets) s.close()

    const second = await startChildRelay(tmp.dir, env)
    cleanups.push(() => {
      second.child.kill('SIGKILL')
    })
    const viewer = await connectProvider(second.wsBase)
    cleanups.push(viewer.close)
    const board = readBoardBitmap(viewer.doc, 256, 256)
    const lost = acked.filter((a) => board[a.y * 256 + a.x] !== a.color)
    expect(lost).toEqual([])
    // Who and when survive too (sampled: one HTTP call per tile).
    for (const a of acked.slice(-20)) {
      const tile = await (await fetch(`${second.url}/api/boards/main/tiles/${a.x}/${a.y}`)).json()
      expect(tile).toEqual({ x: a.x, y: a.y, color: a.color, user: a.user, placedAt: a.placedAt, name: null, issuer: null })
    }
    expect((await placeHttp(second.url, slowUser.token, { x: 2, y: 2, color: 2 }, 'slow')).status).toBe(429)

    // The board equals the history replayed (the history as the admin export streams it).
    const csv = await (
      await fetch(`${second.url}/api/admin/boards/main/history.csv`, { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })
    ).text()
    const palette = ((await (await fetch(`${second.url}/api/boards/main`)).json()) as { palette: string[] }).palette
    const replayed = new Uint8Array(256 * 256)
    for (const row of csv.trim().split('\n').slice(1)) {
      const [, , x, y, color] = row.split(',')
      replayed[Number(y) * 256 + Number(x)] = palette.indexOf(color as string)
    }
    expect(Buffer.compare(replayed, readBoardBitmap(viewer.doc, 256, 256))).toBe(0)
  })

  it('restarts with the very document items its clients received, so that they stay in step', async () => {
    // Each commit's update is stored in the commit's own batch (relay/doc-updates.ts): killed at
    // any moment, the relay restarts with exactly the items it broadcast, not equivalent new ones.
    const tmp = makeTmpDir()
    cleanups.push(tmp.remove)
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards }))
    const first = await startChildRelay(tmp.dir)
    cleanups.push(() => {
      first.child.kill('SIGKILL')
    })
    const watcher = await connectProvider(first.wsBase)
    const { token } = await newSession(first.url)
    for (let i = 0; i < 40; i++) expect((await placeHttp(first.url, token, { x: i, y: 3, color: (i % 15) + 1 })).status).toBe(200)
    await waitFor(() => readBoardBitmap(watcher.doc, 256, 256)[3 * 256 + 39] === (39 % 15) + 1, { what: 'the watcher saw every update' })
    first.child.kill('SIGKILL')
    await first.exited
    watcher.provider.destroy()

    const second = await startChildRelay(tmp.dir)
    cleanups.push(() => {
      second.child.kill('SIGKILL')
    })
    // The doc that received the first relay's updates syncs with the second relay: had the
    // restart rebuilt those placements as new items, this doc would hold items the relay lacks,
    // send them in its sync answer, and be closed as a writer (4403).
    const { WebsocketProvider } = await import('y-websocket')
    const { default: WebSocket } = await import('ws')
    const closes: number[] = []
    const again = new WebsocketProvider(second.wsBase, 'main', watcher.doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    })
    again.on('connection-close', (e: CloseEvent | null) => {
      if (e) closes.push(e.code)
    })
    cleanups.push(() => {
      again.destroy()
      watcher.doc.destroy()
    })
    await waitFor(() => again.synced, { what: 'resync with the restarted relay' })
    expect((await placeHttp(second.url, token, { x: 100, y: 100, color: 4 })).status).toBe(200)
    await waitFor(() => readBoardBitmap(watcher.doc, 256, 256)[100 * 256 + 100] === 4, { what: 'a new placement' })
    const fresh = await connectProvider(second.wsBase)
    cleanups.push(fresh.close)
    expect(Buffer.compare(readBoardBitmap(watcher.doc, 256, 256), readBoardBitmap(fresh.doc, 256, 256))).toBe(0)
    for (let i = 0; i < 40; i++) expect(readBoardBitmap(fresh.doc, 256, 256)[3 * 256 + i]).toBe((i % 15) + 1)
    expect(closes).toEqual([])
  })
})
