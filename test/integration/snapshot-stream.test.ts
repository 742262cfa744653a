/**
 * Issue 16, a snapshotter that follows the board's JetStream stream instead of a relay socket
 * (SNAPSHOT_NATS_URL): against a real writer and nats-server (64 KiB messages, so that a fill
 * and the writer's State go in parts), its snapshot holds exactly the writer's board at its seq,
 * with the same sidecar as a socket-following snapshotter writes for the same document; a
 * client's cold start from it (the served PNG, then sync forward) is exact, from the writer and
 * from an edge whose DATA_DIR it writes into; a restart resumes
 * from the stream position of its latest snapshot (no replay); a stream trimmed past that
 * position, or one that lost a message, is bridged by a State from the writer.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { createLog } from '../../node-kit/log.ts'
import { snapshotDir } from '../../node-kit/snapshot-folder.ts'
import type { SnapshotMeta } from '../../relay/snapshot-routes.ts'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import type { SnapshotSidecar } from '../../shared/snapshot-sidecar.ts'
import { fromBase64 } from '../../shared/snapshot-sidecar.ts'
import { CommitKind, decodeCommitMessage, SEQ_HEADER, streamNames } from '../../shared/stream-messages.ts'
import { isPart } from '../../shared/stream-parts.ts'
import { parseSnapshotterConfig } from '../../snapshotter/config.ts'
import { versionOf } from '../../snapshotter/follow.ts'
import { followFromSnapshot, type SocketConstructor } from '../../snapshotter/follow-from-snapshot.ts'
import { decodePalettePng } from '../../snapshotter/render-png.ts'
import { type BoardSnapshotter, startBoardSnapshotter } from '../../snapshotter/snapshotter.ts'
import { decodeStreamDoc, STREAM_DOC_FILE } from '../../snapshotter/stream-doc-file.ts'
import { adminCall } from '../helpers/admin.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { startOnDemandSnapshotter } from '../helpers/on-demand-snapshotter.ts'
import { prng } from '../helpers/prng.ts'
import { lookAtStream, type StreamLook } from '../helpers/stream-reader.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = 256
const H = 192
const ADMIN = 'admin-token-0123456789abcdef'
const MAX_PAYLOAD = 65_536

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const startRig = async (): Promise<EdgeRig> => {
  const rig = await startEdgeRig({
    edges: 0,
    boards: [{ id: 'main', width: W, height: H, shardSize: 64, cooldownMs: 0 }],
    env: { ADMIN_TOKEN: ADMIN, ADMIN_CHUNK_TILES: '100000' },
    maxPayload: MAX_PAYLOAD,
  })
  cleanup.push(() => rig.tearDown())
  return rig
}

/** A stream-following snapshotter writing into `dataDir`, only when asked (snapshotNow). */
const startStreamSnapshotter = async (natsUrl: string, dataDir: string): Promise<BoardSnapshotter> => {
  const s = await startBoardSnapshotter({
    config: parseSnapshotterConfig({
      DATA_DIR: dataDir,
      SNAPSHOT_NATS_URL: natsUrl,
      SNAPSHOT_EVERY_PLACEMENTS: '100000000',
      SNAPSHOT_EVERY_SECONDS: '604800',
      SNAPSHOT_MIN_INTERVAL_MS: '0',
    }),
    board: 'main',
    WebSocket,
    log: createLog('')('snapshotter'),
  })
  cleanup.push(() => s.stop())
  return s
}

/** Places `n` random tiles over HTTP, as a user would (several at a time: commits share them). */
const placeRandom = async (url: string, rand: () => number, n: number) => {
  const { token } = await newSession(url)
  for (let i = 0; i < n; i += 10) {
    const batch = Array.from({ length: Math.min(10, n - i) }, () =>
      placeHttp(url, token, { x: Math.floor(rand() * W), y: Math.floor(rand() * H), color: Math.floor(rand() * 16) }),
    )
    for (const res of await Promise.all(batch)) expect(res.status, JSON.stringify(res.body)).toBe(200)
  }
}

/** The writer's document as a fresh provider reads it, once the stream holds its last commit. */
const writerNow = async (rig: EdgeRig, look: StreamLook) => {
  const ref = await connectProvider(rig.writer.proc.wsBase)
  cleanup.push(() => ref.close())
  // The placements were answered, and are in the stream (the tests wait for it): its last message says the writer's seq.
  const seq = Number(await waitFor(() => look.lastHeader(SEQ_HEADER), { what: 'a commit in the stream' }))
  return { doc: ref.doc, seq }
}

/** Waits until the snapshotter holds `doc`'s version and writes a snapshot of it. */
const snapshotAt = async (s: BoardSnapshotter, doc: Y.Doc): Promise<SnapshotSidecar> => {
  await waitFor(() => s.synced() && s.version() === versionOf(doc), { what: 'the snapshotter caught up', timeoutMs: 30_000 })
  // Null when its catch-up snapshot (written at its first sync) already holds it.
  const snap = (await s.snapshotNow()) ?? s.latest()
  if (snap?.version !== versionOf(doc)) throw new Error(`no snapshot of version ${versionOf(doc)} written`)
  return snap
}

const readPng = async (path: string) => {
  const png = decodePalettePng(new Uint8Array(await readFile(path)))
  if (!png.ok) throw new Error(png.error)
  return png.png
}

const sameBitmap = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0

describe('a snapshotter following the stream', () => {
  it("writes the writer's board at its seq, the sidecar a socket follower writes, and an exact cold start", async () => {
    const rig = await startRig()
    const w = rig.writer.proc
    const look = await lookAtStream(rig.nats.url, 'main')
    cleanup.push(() => look.close())
    const rand = prng(16)
    // A fill (a commit over 64 KiB: in parts), then placements.
    const fill = await adminCall(w.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: W, h: H, color: 3 })
    expect(fill.status, JSON.stringify(fill.body)).toBe(200)
    await placeRandom(w.url, rand, 300)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === String(W * H + 300), { what: 'every commit in the stream' })
    expect((await look.messages()).some((m) => isPart(m.data))).toBe(true)

    // Into the writer's DATA_DIR, where the writer serves snapshots from.
    const streamed = await startStreamSnapshotter(rig.nats.url, rig.writer.dataDir)
    const socketDir = makeTmpDir('tessera-snap-socket-')
    cleanup.push(() => socketDir.remove())
    const socketed = await startOnDemandSnapshotter({ dataDir: socketDir.dir, wsBase: w.wsBase })
    cleanup.push(() => socketed.stop())

    const writer = await writerNow(rig, look)
    expect(writer.seq).toBe(W * H + 300)
    const snap = await snapshotAt(streamed, writer.doc)
    await waitFor(() => socketed.synced() && socketed.version() === versionOf(writer.doc), { what: 'the socket snapshotter' })
    const bySocket = (await socketed.snapshotNow()) ?? socketed.latest()
    if (!bySocket) throw new Error('no socket snapshot')
    // The same sidecar but for the time it was taken (and so the PNG's text chunk's size), and
    // the seq: the socket follower learns it from a cursor frame after its sync answer, and its
    // catch-up snapshot may be taken before (null then, never another number).
    const { time: _t1, pngBytes: _b1, seq: seq1, ...fields } = snap
    const { time: _t2, pngBytes: _b2, seq: seq2, ...socketFields } = bySocket
    expect(fields).toEqual(socketFields)
    expect([null, seq1]).toContain(seq2)
    expect(snap.seq).toBe(writer.seq)
    expect(snap.stateVector).toBe(Buffer.from(Y.encodeStateVector(writer.doc)).toString('base64'))
    const png = await readPng(join(snapshotDir(rig.writer.dataDir, 'main'), snap.png))
    expect(sameBitmap(png.bitmap, readBoardBitmap(writer.doc, W, H))).toBe(true)
    // Where a restart resumes: the same position.
    const resume = decodeStreamDoc(new Uint8Array(await readFile(join(snapshotDir(rig.writer.dataDir, 'main'), STREAM_DOC_FILE))))
    expect(resume?.docSeq).toBe(snap.seq)
    expect(resume?.streamSeq).toBe((await look.bounds()).last)

    // A client's cold start: the served snapshot, then sync forward past more placements.
    await placeRandom(w.url, rand, 200)
    const meta = (await (await fetch(`${w.url}/api/boards/main/snapshot`)).json()) as SnapshotMeta
    expect(meta.version).toBe(snap.version)
    expect(meta.seq).toBe(snap.seq)
    const served = decodePalettePng(new Uint8Array(await (await fetch(`${w.url}${meta.pngUrl}`)).arrayBuffer()))
    if (!served.ok) throw new Error(served.error)
    const reader = followFromSnapshot({
      url: `${w.wsBase}/main`,
      board: { bitmap: served.png.bitmap, width: served.png.width, height: served.png.height },
      stateVector: fromBase64(meta.stateVector),
      WebSocket: WebSocket as unknown as SocketConstructor,
    })
    cleanup.push(() => reader.close())
    await reader.whenSynced
    await waitFor(() => reader.version() === versionOf(writer.doc) && writer.seq > 0, { what: 'the reader caught up' })
    expect(sameBitmap(reader.board().bitmap, readBoardBitmap(writer.doc, W, H))).toBe(true)
  }, 120_000)

  it("writes into an edge's DATA_DIR: the edge serves that snapshot, and a cold start from the edge is exact", async () => {
    const rig = await startRig()
    const w = rig.writer.proc
    const edge = await rig.addEdge()
    const look = await lookAtStream(rig.nats.url, 'main')
    cleanup.push(() => look.close())
    const rand = prng(23)
    await placeRandom(w.url, rand, 300)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '300', { what: 'every commit in the stream' })

    // A deployment's snapshotter beside an edge: it follows the stream and writes where the edge serves from.
    const streamed = await startStreamSnapshotter(rig.nats.url, edge.dataDir)
    const writer = await writerNow(rig, look)
    const snap = await snapshotAt(streamed, writer.doc)
    expect(snap.seq).toBe(300)
    const meta = await waitFor(
      async () => {
        const m = (await (await fetch(`${edge.proc.url}/api/boards/main/snapshot`)).json()) as SnapshotMeta
        return m.version === snap.version ? m : null
      },
      { what: "the edge serving the snapshotter's snapshot" },
    )
    expect(meta.seq).toBe(snap.seq)
    const served = decodePalettePng(new Uint8Array(await (await fetch(`${edge.proc.url}${meta.pngUrl}`)).arrayBuffer()))
    if (!served.ok) throw new Error(served.error)
    expect(sameBitmap(served.png.bitmap, readBoardBitmap(writer.doc, W, H))).toBe(true)

    // Placements through the edge after the snapshot; a cold start from the edge: its PNG, then sync forward.
    await placeRandom(edge.proc.url, rand, 100)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '400', { what: 'the placements through the edge in the stream' })
    const now = await writerNow(rig, look)
    const reader = followFromSnapshot({
      url: `${edge.proc.wsBase}/main`,
      board: { bitmap: served.png.bitmap, width: served.png.width, height: served.png.height },
      stateVector: fromBase64(meta.stateVector),
      WebSocket: WebSocket as unknown as SocketConstructor,
    })
    cleanup.push(() => reader.close())
    await reader.whenSynced
    await waitFor(() => reader.version() === versionOf(now.doc), { what: 'the reader of the edge caught up' })
    expect(sameBitmap(reader.board().bitmap, readBoardBitmap(now.doc, W, H))).toBe(true)
  }, 120_000)

  it('resumes from its latest snapshot after a restart; bridges a trimmed stream and a lost message with a State', async () => {
    const rig = await startRig()
    const w = rig.writer.proc
    const dataDir = rig.writer.dataDir
    const dir = snapshotDir(dataDir, 'main')
    const look = await lookAtStream(rig.nats.url, 'main')
    cleanup.push(() => look.close())
    const rand = prng(61)
    await placeRandom(w.url, rand, 200)

    // 1. From the stream's start (it holds every commit), then a snapshot.
    let s = await startStreamSnapshotter(rig.nats.url, dataDir)
    const writer = await writerNow(rig, look)
    await waitFor(() => s.streamFrom() !== null, { what: 'the snapshotter following' })
    expect(s.streamFrom()).toBe(1)
    const first = await snapshotAt(s, writer.doc)
    const at = decodeStreamDoc(new Uint8Array(await readFile(join(dir, STREAM_DOC_FILE))))
    expect(at?.streamSeq).toBeGreaterThan(1)
    await s.stop()

    // 2. A restart after more placements: it asks for the message after its snapshot's, no replay.
    await placeRandom(w.url, rand, 200)
    s = await startStreamSnapshotter(rig.nats.url, dataDir)
    expect(s.latest()?.version).toBe(first.version)
    await waitFor(() => s.streamFrom() !== null, { what: 'the snapshotter following' })
    expect(s.streamFrom()).toBe((at?.streamSeq as number) + 1)
    // As the NATS server sees it: its consumer (the newest; the one before the restart may not
    // have expired yet) starts there.
    const nc = await connect({ servers: rig.nats.url })
    cleanup.push(() => nc.close())
    const jsm = await jetstreamManager(nc)
    const startSeq = await waitFor(async () => {
      const consumers = await jsm.consumers.list(streamNames('main').stream).next()
      const newest = consumers.sort((x, y) => Date.parse(y.created) - Date.parse(x.created))[0]
      // Undefined for a consumer that delivers from the stream's start.
      return newest?.config.opt_start_seq ?? null
    })
    expect(startSeq).toBe((at?.streamSeq as number) + 1)
    const second = await snapshotAt(s, writer.doc)
    expect(second.seq).toBe(Number(await look.lastHeader(SEQ_HEADER)))
    expect(second.stateVector).toBe(Buffer.from(Y.encodeStateVector(writer.doc)).toString('base64'))
    expect(sameBitmap((await readPng(join(dir, second.png))).bitmap, readBoardBitmap(writer.doc, W, H))).toBe(true)
    await s.stop()

    // 3. The stream trimmed past its position (purged here): it starts from the writer's State.
    await placeRandom(w.url, rand, 100)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '500', { what: 'every commit in the stream' })
    const before = await look.bounds()
    await look.purge()
    s = await startStreamSnapshotter(rig.nats.url, dataDir)
    await waitFor(() => s.streamFrom() !== null, { what: 'the snapshotter following' })
    // The writer published a State after the purge: the first message it reads.
    expect(s.streamFrom()).toBeGreaterThan(before.last)
    const third = await snapshotAt(s, writer.doc)
    expect(third.seq).toBe(500)
    expect(third.stateVector).toBe(Buffer.from(Y.encodeStateVector(writer.doc)).toString('base64'))
    expect(sameBitmap((await readPng(join(dir, third.png))).bitmap, readBoardBitmap(writer.doc, W, H))).toBe(true)

    // 4. A message after its position lost (deleted, as a NATS server that lost it): never
    // applied past; a State from the writer bridges the hole. (Deleted while it is stopped: a
    // message it has not read yet cannot be chosen while it follows live.)
    await s.stop()
    const from = (await look.bounds()).last
    await placeRandom(w.url, rand, 30)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '530', { what: 'the placements in the stream' })
    expect((await look.bounds()).last).toBeGreaterThan(from + 2)
    await look.remove(from + 2)
    s = await startStreamSnapshotter(rig.nats.url, dataDir)
    const fourth = await snapshotAt(s, writer.doc)
    expect(fourth.seq).toBe(530)
    expect(fourth.stateVector).toBe(Buffer.from(Y.encodeStateVector(writer.doc)).toString('base64'))
    expect(sameBitmap((await readPng(join(dir, fourth.png))).bitmap, readBoardBitmap(writer.doc, W, H))).toBe(true)
    // It asked for that State: the stream's last message now.
    const held = await look.messages()
    expect(decodeCommitMessage((held[held.length - 1] as { data: Uint8Array }).data).kind).toBe(CommitKind.State)
  }, 120_000)

  it('starts while NATS is down, and goes on after NATS restarts', async () => {
    const rig = await startEdgeRig({
      edges: 0,
      boards: [{ id: 'main', width: W, height: H, shardSize: 64, cooldownMs: 0 }],
      natsStopped: true,
    })
    cleanup.push(() => rig.tearDown())
    const w = rig.writer.proc
    const dataDir = rig.writer.dataDir
    // Started while NATS is down: it keeps trying (and waits for the stream, which the writer makes).
    const s = await startStreamSnapshotter(rig.nats.url, dataDir)
    await rig.nats.start()
    const look = await lookAtStream(rig.nats.url, 'main')
    cleanup.push(() => look.close())
    const rand = prng(5)
    // The writer refuses placements (503) until its link and stream are up.
    const { token } = await newSession(w.url)
    await waitFor(async () => (await placeHttp(w.url, token, { x: 1, y: 1, color: 2 })).status === 200, {
      what: 'the writer placing',
      timeoutMs: 30_000,
    })
    await placeRandom(w.url, rand, 100)
    const writer = await writerNow(rig, look)
    await snapshotAt(s, writer.doc)

    // NATS killed and started again (same store): it follows on once the client reconnects.
    await rig.nats.stop(true)
    await rig.nats.start()
    await waitFor(async () => (await placeHttp(w.url, token, { x: 2, y: 2, color: 3 })).status === 200, {
      what: 'the writer placing again',
      timeoutMs: 30_000,
    })
    await placeRandom(w.url, rand, 100)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '202', { what: 'every commit in the stream', timeoutMs: 30_000 })
    const after = await snapshotAt(s, writer.doc)
    expect(after.seq).toBe(202)
    expect(after.stateVector).toBe(Buffer.from(Y.encodeStateVector(writer.doc)).toString('base64'))
    expect(sameBitmap((await readPng(join(snapshotDir(dataDir, 'main'), after.png))).bitmap, readBoardBitmap(writer.doc, W, H))).toBe(true)
  }, 120_000)
})
