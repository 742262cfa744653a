/**
 * The exact cold start against a real relay: random placements, a snapshot by the real
 * snapshotter (in-process, over y-websocket), many more placements with shard compactions, an
 * epoch change, a relay restart and a board that grows; then a fresh reader that paints the
 * served PNG and syncs forward from its state vector equals the relay's board pixel for pixel,
 * and stays equal as placements continue.
 */

import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import type { SnapshotMeta } from '../../relay/snapshot-routes.ts'
import { RootKey, rootOf } from '../../shared/doc-schema.ts'
import { fromBase64 } from '../../shared/snapshot-sidecar.ts'
import { stateVectorSum } from '../../shared/update-reader.ts'
import { followFromSnapshot, type SocketConstructor } from '../../snapshotter/follow-from-snapshot.ts'
import { decodePalettePng } from '../../snapshotter/render-png.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { startOnDemandSnapshotter } from '../helpers/on-demand-snapshotter.ts'
import { prng } from '../helpers/prng.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const SHARD = 16
const ENV = {
  BOARD_COOLDOWN_MS: '0',
  BOARD_WIDTH: '128',
  BOARD_HEIGHT: '96',
  BOARD_SHARD_SIZE: String(SHARD),
  // Compact a shard every 16 writes: thousands of placements then force an epoch change too.
  COMPACT_SHARD_WRITES: '16',
  COMPACT_TOTAL_WRITES: '1024',
}

/** Places `n` random tiles through the room (batches share commits, as a busy board's do). */
const placeRandom = async (room: Room, rand: () => number, n: number) => {
  const { width, height } = room.config()
  const batch: Promise<unknown>[] = []
  for (let i = 0; i < n; i++) {
    const x = Math.floor(rand() * width)
    const y = Math.floor(rand() * height)
    batch.push(
      room.place({ x, y, color: Math.floor(rand() * 16) }, { user: `u${i % 50}`, ip: '127.0.0.1', isAdmin: false }).then((r) => {
        if (!r.ok) throw new Error(`placement refused: ${r.error}`)
      }),
    )
    if (batch.length >= 400) await Promise.all(batch.splice(0))
  }
  await Promise.all(batch)
}

const versionOf = (doc: Y.Doc) => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(doc)))
const epochOf = (doc: Y.Doc) => {
  const id = (rootOf(doc).get(RootKey.Epoch) as Y.Map<unknown>)._item?.id
  return id ? `${id.client}:${id.clock}` : null
}
const mismatches = (a: Uint8Array, b: Uint8Array) => {
  let n = Math.abs(a.length - b.length)
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++
  return n
}

describe('exact cold start', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  it('snapshot + forward sync equals the relay board after compactions, an epoch, restarts and growth', async () => {
    const rand = prng(42)
    const tmp = makeTmpDir('tessera-cold-')
    cleanup.push(() => tmp.remove())
    let relay: TestRelay = await startTestRelay({ dataDir: tmp.dir, env: ENV })
    const port = relay.port
    cleanup.push(() => relay.stop())
    const room = () => relay.rooms.get('main') as Room

    const snapshotter = await startOnDemandSnapshotter({ dataDir: tmp.dir, wsBase: relay.wsBase })
    cleanup.push(() => snapshotter.stop())

    // 1. Random placements (some over HTTP, as a user would), then a snapshot of exactly that state.
    const { token } = await newSession(relay.url)
    for (let i = 0; i < 20; i++) {
      const x = 1 + i * 3
      expect((await placeHttp(relay.url, token, { x, y: 7, color: (i % 15) + 1 })).status).toBe(200)
    }
    await placeRandom(room(), rand, 1500)
    await waitFor(() => snapshotter.synced() && snapshotter.version() === versionOf(room().doc), { what: 'snapshotter caught up' })
    const snap = await snapshotter.snapshotNow()
    expect(snap?.version).toBe(versionOf(room().doc))
    const epochAtSnapshot = epochOf(room().doc)

    // 2. Many more placements: compactions and at least one new epoch.
    await placeRandom(room(), rand, 6000)
    expect(epochOf(room().doc)).not.toBe(epochAtSnapshot)

    // 3. A relay restart (same port and data), then growth of the board, then more placements.
    await relay.close()
    relay = await startTestRelay({ dataDir: tmp.dir, env: { ...ENV, PORT: String(port) } })
    await placeRandom(room(), rand, 1000)
    await relay.close()
    relay = await startTestRelay({ dataDir: tmp.dir, env: { ...ENV, PORT: String(port), BOARD_WIDTH: '160', BOARD_HEIGHT: '112' } })
    await placeRandom(room(), rand, 1500)

    // 4. A fresh reader: the served snapshot, then sync forward.
    const metaRes = await fetch(`${relay.url}/api/boards/main/snapshot`)
    expect(metaRes.status).toBe(200)
    const meta = (await metaRes.json()) as SnapshotMeta
    expect(meta.version).toBe(snap?.version)
    const png = decodePalettePng(new Uint8Array(await (await fetch(`${relay.url}${meta.pngUrl}`)).arrayBuffer()))
    if (!png.ok) throw new Error(png.error)
    expect([png.png.width, png.png.height]).toEqual([128, 96])
    const reader = followFromSnapshot({
      url: `${relay.wsBase}/main`,
      board: { bitmap: png.png.bitmap, width: png.png.width, height: png.png.height },
      stateVector: fromBase64(meta.stateVector),
      WebSocket: WebSocket as unknown as SocketConstructor,
    })
    cleanup.push(() => reader.close())
    await reader.whenSynced
    expect([reader.board().width, reader.board().height]).toEqual([160, 112])
    expect(mismatches(reader.board().bitmap, room().bitmap())).toBe(0)

    // 5. It stays exact while the board moves on (live updates, compactions included).
    await placeRandom(room(), rand, 2000)
    await waitFor(() => reader.version() === versionOf(room().doc), { what: 'reader caught up' })
    expect(mismatches(reader.board().bitmap, room().bitmap())).toBe(0)

    // 6. The snapshotter followed through both restarts and writes the current board.
    await waitFor(() => snapshotter.synced() && snapshotter.version() === versionOf(room().doc), { what: 'snapshotter resynced' })
    const snap2 = await snapshotter.snapshotNow()
    expect(snap2?.width).toBe(160)
    const png2 = decodePalettePng(new Uint8Array(await (await fetch(`${relay.url}/snapshots/main/${snap2?.version}.png`)).arrayBuffer()))
    if (!png2.ok) throw new Error(png2.error)
    expect(mismatches(png2.png.bitmap, room().bitmap())).toBe(0)
  })

  it('a reader starting from nothing (empty state vector) paints the whole board', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const room = relay.rooms.get('main') as Room
    await placeRandom(room, prng(7), 3000)
    const reader = followFromSnapshot({
      url: `${relay.wsBase}/main`,
      board: { bitmap: new Uint8Array(0), width: 0, height: 0 },
      stateVector: new Uint8Array(0),
      WebSocket: WebSocket as unknown as SocketConstructor,
    })
    cleanup.push(() => reader.close())
    await reader.whenSynced
    expect(reader.config()?.width).toBe(128)
    expect(mismatches(reader.board().bitmap, room.bitmap())).toBe(0)
  })

  it('rejects whenSynced for an unknown board (close code 4404, no retry)', async () => {
    const relay = await startTestRelay({ env: ENV })
    cleanup.push(() => relay.stop())
    const reader = followFromSnapshot({
      url: `${relay.wsBase}/nope`,
      board: { bitmap: new Uint8Array(0), width: 0, height: 0 },
      stateVector: new Uint8Array(0),
      WebSocket: WebSocket as unknown as SocketConstructor,
    })
    cleanup.push(() => reader.close())
    await expect(reader.whenSynced).rejects.toThrow(/4404/)
  })
})
