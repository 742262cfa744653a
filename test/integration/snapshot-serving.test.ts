/**
 * The snapshotter (in-process, over real sockets) and the relay's snapshot routes: when
 * snapshots are written, what is served with which headers, bad input, and a relay that keeps
 * working while the snapshotter is down.
 */
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { createLog } from '../../node-kit/log.ts'
import type { Room } from '../../relay/room.ts'
import type { SnapshotMeta } from '../../relay/snapshot-routes.ts'
import type { SnapshotSidecar } from '../../shared/snapshot-sidecar.ts'
import { stateVectorSum } from '../../shared/update-reader.ts'
import { parseSnapshotterConfig } from '../../snapshotter/config.ts'
import { decodePalettePng } from '../../snapshotter/render-png.ts'
import { type BoardSnapshotter, startBoardSnapshotter } from '../../snapshotter/snapshotter.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ENV = { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: '64', BOARD_HEIGHT: '48', BOARD_SHARD_SIZE: '16' }
const quiet = createLog('')('snapshotter')
const versionOf = (room: Room) => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(room.doc)))

/** A raw GET whose path is sent exactly as given (fetch would normalise "..", "%2F"). */
const rawGet = (base: string, path: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const u = new URL(base)
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })

describe('snapshotter and snapshot routes', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  const start = async (relay: TestRelay, env: Record<string, string>, onSnapshot?: (s: SnapshotSidecar) => void) => {
    const config = parseSnapshotterConfig({ DATA_DIR: relay.dataDir, SNAPSHOT_RELAY: relay.wsBase, SNAPSHOT_MIN_INTERVAL_MS: '0', ...env })
    const s: BoardSnapshotter = await startBoardSnapshotter({ config, board: 'main', WebSocket, log: quiet, onSnapshot })
    let stopped = false
    const stop = async () => {
      if (!stopped) await s.stop()
      stopped = true
    }
    cleanup.push(stop)
    return { s, stop }
  }

  const placeMany = async (room: Room, n: number, color = 3) => {
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        room.place({ x: (i * 7) % 64, y: Math.floor(i / 9) % 48, color }, { user: 'u', ip: '127.0.0.1', isAdmin: false }),
      ),
    )
  }

  it('writes after N placements, serves metadata, the PNG and its sidecar with the right headers', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const room = relay.rooms.get('main') as Room
    const written: SnapshotSidecar[] = []
    const { s } = await start(relay, { SNAPSHOT_EVERY_PLACEMENTS: '40', SNAPSHOT_EVERY_SECONDS: '604800' }, (x) => written.push(x))
    // The catch-up snapshot of the fresh board (its descriptor only).
    await waitFor(() => written.length === 1, { what: 'catch-up snapshot' })

    await placeMany(room, 60, 5)
    await waitFor(() => s.latest()?.version === versionOf(room), { what: 'snapshot after N placements' })
    const latest = s.latest() as SnapshotSidecar

    const metaRes = await fetch(`${relay.url}/api/boards/main/snapshot`)
    expect(metaRes.status).toBe(200)
    expect(metaRes.headers.get('cache-control')).toBe('public, max-age=5')
    const meta = (await metaRes.json()) as SnapshotMeta
    expect(meta).toMatchObject({
      version: latest.version,
      width: 64,
      height: 48,
      pngUrl: `/snapshots/main/${latest.version}.png`,
      sidecarUrl: `/snapshots/main/${latest.version}.json`,
    })
    expect(Buffer.from(meta.stateVector, 'base64')).toEqual(Buffer.from(Y.encodeStateVector(room.doc)))

    const pngRes = await fetch(`${relay.url}${meta.pngUrl}`)
    expect(pngRes.status).toBe(200)
    expect(pngRes.headers.get('content-type')).toBe('image/png')
    expect(pngRes.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(pngRes.headers.get('x-tessera-version')).toBe(String(latest.version))
    const etag = pngRes.headers.get('etag')
    expect(etag).toMatch(/^".+"$/)
    const png = decodePalettePng(new Uint8Array(await pngRes.arrayBuffer()))
    if (!png.ok) throw new Error(png.error)
    expect(Buffer.from(png.png.bitmap).equals(Buffer.from(room.bitmap()))).toBe(true)

    const again = await fetch(`${relay.url}${meta.pngUrl}`, { headers: { 'if-none-match': etag as string } })
    expect(again.status).toBe(304)
    const head = await fetch(`${relay.url}${meta.pngUrl}`, { method: 'HEAD' })
    expect(head.headers.get('content-length')).toBe(String(latest.pngBytes))

    const side = await fetch(`${relay.url}${meta.sidecarUrl}`)
    expect(side.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(((await side.json()) as SnapshotSidecar).version).toBe(latest.version)

    const redirect = await fetch(`${relay.url}/api/boards/main/snapshot.png`, { redirect: 'manual' })
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toBe(meta.pngUrl)

    // Past versions by number and by time; the list.
    const first = written[0] as SnapshotSidecar
    const byVersion = await fetch(`${relay.url}/api/boards/main/snapshot?version=${first.version}`)
    expect(((await byVersion.json()) as SnapshotMeta).version).toBe(first.version)
    expect(byVersion.headers.get('cache-control')).toContain('immutable')
    const byTime = await fetch(`${relay.url}/api/boards/main/snapshot?at=${new Date(latest.time - 1).toISOString()}`)
    expect(((await byTime.json()) as SnapshotMeta).version).toBeLessThan(latest.version)
    const list = (await (await fetch(`${relay.url}/api/boards/main/snapshots`)).json()) as { snapshots: { version: number }[] }
    expect(list.snapshots.map((x) => x.version)).toEqual(written.map((x) => x.version))

    // Bad input and unknowns.
    const status = async (path: string, init?: RequestInit) => (await fetch(`${relay.url}${path}`, init)).status
    expect(await status('/api/boards/main/snapshot?version=abc')).toBe(400)
    expect(await status('/api/boards/main/snapshot?version=-1')).toBe(400)
    expect(await status('/api/boards/main/snapshot?at=yesterday')).toBe(400)
    expect(await status('/api/boards/main/snapshot?version=1&at=1')).toBe(400)
    expect(await status('/api/boards/main/snapshots?from=x')).toBe(400)
    expect(await status('/api/boards/main/snapshot?version=987654')).toBe(404)
    expect(await status('/api/boards/main/snapshot?at=1')).toBe(404)
    expect(await status('/api/boards/nope/snapshot')).toBe(404)
    expect(await status('/api/boards/nope/snapshot.png')).toBe(404)
    expect(await status('/snapshots/nope/1.png')).toBe(404)
    expect(await status('/snapshots/main/987654.png')).toBe(404)
    expect(await status('/snapshots/main/abc.png')).toBe(400)
    expect(await status('/snapshots/main/1.txt')).toBe(404)
    expect(await status(meta.pngUrl, { method: 'POST' })).toBe(405)
    // Failures answer as every API failure does: { ok: false, error, message }, not cached, any origin.
    for (const [path, init, code, error, message] of [
      ['/api/boards/main/snapshot?version=987654', undefined, 404, 'unknown-version', 'no snapshot has version 987654'],
      ['/snapshots/main/abc.png', undefined, 400, 'bad-request', 'no file /snapshots/main/abc.png'],
      ['/api/boards/nope/snapshot', undefined, 404, 'unknown-board', 'no board has the id "nope"'],
      [meta.pngUrl, { method: 'POST' }, 405, 'method-not-allowed', 'use GET'],
    ] as const) {
      const res = await fetch(`${relay.url}${path}`, init)
      expect(res.status, path).toBe(code)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      expect(await res.json()).toEqual({ ok: false, error, message })
    }
    const headFailure = await fetch(`${relay.url}/api/boards/main/snapshot?version=987654`, { method: 'HEAD' })
    expect(headFailure.status).toBe(404)
    expect(await headFailure.text()).toBe('')
    expect(await rawGet(relay.url, '/snapshots/main/../../secret')).toBe(404)
    expect(await rawGet(relay.url, '/snapshots/main/..%2F..%2Fsecret.png')).toBe(400)
    expect(await rawGet(relay.url, '/snapshots/..%2F..%2Fetc/passwd')).toBe(404)
    // The rest of the API is untouched.
    expect(await status('/api/boards/main')).toBe(200)
  })

  it('writes after T seconds with a change, and not without one', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const room = relay.rooms.get('main') as Room
    const written: SnapshotSidecar[] = []
    const { s } = await start(relay, { SNAPSHOT_EVERY_PLACEMENTS: '100000', SNAPSHOT_EVERY_SECONDS: '1' }, (x) => written.push(x))
    await waitFor(() => written.length === 1, { what: 'catch-up snapshot' })
    await placeMany(room, 1)
    // onSnapshot runs after the files are written and pruned, a moment after latest() moves:
    // wait for the callback itself.
    // EVERY_PLACEMENTS rules out any other trigger; the bound only leaves room for a loaded machine.
    await waitFor(() => written.length >= 2, { what: 'snapshot after T seconds', timeoutMs: 15_000 })
    expect(written).toHaveLength(2)
    expect(written[1]?.version).toBe(versionOf(room))
    expect(s.latest()?.version).toBe(versionOf(room))
    // Without a change, snapshotNow (what the timer would call) writes nothing.
    expect(await s.snapshotNow()).toBeNull()
  })

  it('the relay works with the snapshotter down; a restarted snapshotter catches up at once', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const room = relay.rooms.get('main') as Room
    const { token } = await newSession(relay.url)
    expect((await placeHttp(relay.url, token, { x: 1, y: 1, color: 2 })).status).toBe(200)
    expect((await fetch(`${relay.url}/api/boards/main/snapshot`)).status).toBe(404)
    expect((await fetch(`${relay.url}/api/boards/main/snapshot.png`, { redirect: 'manual' })).status).toBe(404)

    // Slow policy: only the catch-up rule can explain a snapshot.
    const slow = { SNAPSHOT_EVERY_PLACEMENTS: '100000', SNAPSHOT_EVERY_SECONDS: '604800' }
    const first = await start(relay, slow)
    await waitFor(() => first.s.latest()?.version === versionOf(room), { what: 'catch-up snapshot' })
    await first.stop()

    await placeMany(room, 30, 9)
    expect((await placeHttp(relay.url, token, { x: 2, y: 2, color: 4 })).status).toBe(200)
    const second = await start(relay, slow)
    await waitFor(() => second.s.latest()?.version === versionOf(room), { what: 'second catch-up snapshot' })
    const meta = (await (await fetch(`${relay.url}/api/boards/main/snapshot`)).json()) as SnapshotMeta
    expect(meta.version).toBe(versionOf(room))
  })
})
