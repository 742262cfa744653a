/**
 * The seq a snapshot stands at: the snapshotter hears it from the relay's cursor frames
 * (cursors=1) and writes it into the sidecar; the relay names it in the snapshot's metadata and in
 * GET /api/boards/<id>; a reader that paints the PNG and resumes with since=<seq> over a
 * live=tiles socket (4 bytes a write, no Yjs) equals the relay's board, across compactions, a new
 * epoch and a relay restart.
 */
import * as decoding from 'lib0/decoding'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import type { SnapshotMeta } from '../../relay/snapshot-routes.ts'
import type { BoardInfo } from '../../shared/board.ts'
import { RootKey, rootOf } from '../../shared/doc-schema.ts'
import { readTiles } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { decodeTileValue } from '../../shared/tile-codec.ts'
import { stateVectorSum } from '../../shared/update-reader.ts'
import { decodePalettePng } from '../../snapshotter/render-png.ts'
import { openRaw } from '../helpers/clients.ts'
import { startOnDemandSnapshotter } from '../helpers/on-demand-snapshotter.ts'
import { prng } from '../helpers/prng.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ENV = {
  BOARD_COOLDOWN_MS: '0',
  BOARD_WIDTH: '96',
  BOARD_HEIGHT: '64',
  BOARD_SHARD_SIZE: '16',
  // Compact a shard every 16 writes: a few thousand placements also start a new epoch.
  COMPACT_SHARD_WRITES: '16',
  COMPACT_TOTAL_WRITES: '1024',
}

const placeRandom = async (room: Room, rand: () => number, n: number) => {
  const batch: Promise<unknown>[] = []
  for (let i = 0; i < n; i++) {
    const intent = { x: Math.floor(rand() * 96), y: Math.floor(rand() * 64), color: Math.floor(rand() * 16) }
    batch.push(room.place(intent, { user: `u${i % 40}`, ip: '127.0.0.1', isAdmin: false }))
    if (batch.length >= 300) await Promise.all(batch.splice(0))
  }
  await Promise.all(batch)
}

const versionOf = (doc: Y.Doc) => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(doc)))
const epochOf = (doc: Y.Doc) => (rootOf(doc).get(RootKey.Epoch) as Y.Map<unknown> | undefined)?._item?.id.clock ?? null

/** Paints the Tiles catch-up a since=<seq> socket receives onto `bitmap` (96 wide). */
const resumeOnto = async (relay: TestRelay, since: number, bitmap: Uint8Array) => {
  const raw = await openRaw(`${relay.wsBase}/main?live=tiles&since=${since}`)
  try {
    const catchUp = await waitFor(() => {
      for (const f of raw.frames) {
        const dec = decoding.createDecoder(f)
        const type = decoding.readVarUint(dec)
        // A sync step 2 instead would mean the relay could not resume from this seq.
        if (type === MessageType.Sync) throw new Error('the relay answered a full sync, not a catch-up')
        if (type === MessageType.Tiles) return readTiles(dec)
      }
      return null
    })
    expect(catchUp.firstSeq).toBe(since + 1)
    for (const v of catchUp.values) {
      const { x, y, color } = decodeTileValue(v)
      bitmap[y * 96 + x] = color
    }
    return catchUp.values.length
  } finally {
    raw.close()
  }
}

describe('the seq a snapshot stands at', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  it('is written by the snapshotter and named by the relay; a since= resume from it equals the board, after a restart too', async () => {
    const rand = prng(7)
    const tmp = makeTmpDir('tessera-snapseq-')
    cleanup.push(() => tmp.remove())
    let relay = await startTestRelay({ dataDir: tmp.dir, env: ENV })
    const port = relay.port
    cleanup.push(() => relay.stop())
    const room = () => relay.rooms.get('main') as Room
    const snapshotter = await startOnDemandSnapshotter({ dataDir: tmp.dir, wsBase: relay.wsBase })
    cleanup.push(() => snapshotter.stop())

    // No snapshot yet: the board's info says so (and its seq).
    const before = (await (await fetch(`${relay.url}/api/boards/main`)).json()) as BoardInfo
    expect(before.snapshot).toBeNull()
    expect(before.seq).toBe(0)

    await placeRandom(room(), rand, 1200)
    await waitFor(() => snapshotter.synced() && snapshotter.version() === versionOf(room().doc), { what: 'snapshotter caught up' })
    const snap = await snapshotter.snapshotNow()
    const seqAtSnapshot = room().lastSeq()
    expect(seqAtSnapshot).toBe(1200)
    const epochAtSnapshot = epochOf(room().doc)

    // Compactions and a new epoch after the snapshot.
    await placeRandom(room(), rand, 5000)
    expect(epochOf(room().doc)).not.toBe(epochAtSnapshot)

    const info = (await (await fetch(`${relay.url}/api/boards/main`)).json()) as BoardInfo
    expect(info.seq).toBe(6200)
    expect(info.snapshot).toMatchObject({ version: snap?.version, seq: seqAtSnapshot, width: 96, height: 64 })
    const meta = (await (await fetch(`${relay.url}/api/boards/main/snapshot`)).json()) as SnapshotMeta
    expect(meta.seq).toBe(seqAtSnapshot)
    expect(info.snapshot?.pngUrl).toBe(meta.pngUrl)

    // A reader: the PNG, then every write after the snapshot's seq, as Tiles values.
    const png = decodePalettePng(new Uint8Array(await (await fetch(`${relay.url}${meta.pngUrl}`)).arrayBuffer()))
    if (!png.ok) throw new Error(png.error)
    const bitmap = png.png.bitmap.slice()
    expect(Buffer.compare(Buffer.from(bitmap), Buffer.from(room().bitmap()))).not.toBe(0)
    expect(await resumeOnto(relay, meta.seq as number, bitmap)).toBe(5000)
    expect(Buffer.compare(Buffer.from(bitmap), Buffer.from(room().bitmap()))).toBe(0)

    // The sidecar holds it, so a restarted relay names it too, and the resume still equals the board.
    await relay.close()
    relay = await startTestRelay({ dataDir: tmp.dir, env: { ...ENV, PORT: String(port) } })
    const afterRestart = (await (await fetch(`${relay.url}/api/boards/main`)).json()) as BoardInfo
    expect(afterRestart.snapshot).toMatchObject({ version: snap?.version, seq: seqAtSnapshot })
    const again = png.png.bitmap.slice()
    expect(await resumeOnto(relay, seqAtSnapshot, again)).toBe(5000)
    expect(Buffer.compare(Buffer.from(again), Buffer.from(room().bitmap()))).toBe(0)
    // The snapshotter follows the restarted relay and names the next snapshot's seq.
    await placeRandom(room(), rand, 300)
    await waitFor(() => snapshotter.synced() && snapshotter.version() === versionOf(room().doc), { what: 'snapshotter resynced' })
    const snap2 = await snapshotter.snapshotNow()
    const info2 = (await (await fetch(`${relay.url}/api/boards/main`)).json()) as BoardInfo
    expect(info2.snapshot).toMatchObject({ version: snap2?.version, seq: 6500 })
  })
})
