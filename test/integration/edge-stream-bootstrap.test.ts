/**
 * Issue 16, a bounded stream: a new edge that cannot replay the stream from its start (it was
 * trimmed; here purged) asks the writer for a State and holds exactly the writer's board and
 * document, and answers nothing from the history it lacks (tile reads go to the writer, `since` resumes from
 * before it get the whole board); an edge that finds a message missing from the stream (deleted
 * here, as a NATS server that lost it) repairs the gap from the writer, records included; and a
 * writer that restarts with nothing unpublished adds nothing to the stream.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { CLOCK_HEADER, CommitKind, decodeCommitMessage, SEQ_HEADER } from '../../shared/stream-messages.ts'
import { adminCall } from '../helpers/admin.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { lookAtStream } from '../helpers/stream-reader.ts'
import { openTilesClient, type TilesClient } from '../helpers/tiles-client.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'admin-token-0123456789abcdef'
let rig: EdgeRig | null = null
afterEach(async () => {
  await rig?.tearDown()
  rig = null
})

const readTile = async (url: string, x: number, y: number) => {
  const res = await fetch(`${url}/api/boards/main/tiles/${x}/${y}`)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** Waits until two relays hold the same document, and returns the board as the writer's provider reads it. */
const sameDocument = async (writerWs: string, edgeWs: string, w: number, h: number) => {
  const ref = await connectProvider(writerWs)
  const onEdge = await connectProvider(edgeWs)
  await waitFor(() => sameBytes(Y.encodeStateVector(onEdge.doc), Y.encodeStateVector(ref.doc)), {
    what: 'the edge document',
    timeoutMs: 30_000,
  })
  expect(sameBytes(Y.encodeStateAsUpdate(onEdge.doc), Y.encodeStateAsUpdate(ref.doc))).toBe(true)
  const board = readBoardBitmap(ref.doc, w, h)
  expect(sameBytes(readBoardBitmap(onEdge.doc, w, h), board)).toBe(true)
  ref.close()
  onEdge.close()
  return board
}

/** Waits until a live=tiles client holds `board` at the same cursor as `ref`, with no gap. */
const sameView = async (c: TilesClient, ref: TilesClient, board: Uint8Array, what: string) => {
  await waitFor(
    () => {
      c.pump()
      ref.pump()
      return c.cursor() !== null && c.cursor() === ref.cursor() && sameBytes(c.board()?.bitmap ?? new Uint8Array(), board)
    },
    { what },
  )
  expect(c.gaps).toEqual([])
}

describe('a bounded stream', () => {
  it('a new edge after the stream was trimmed starts from the writer State and answers nothing it lacks', async () => {
    const W = 384
    const H = 384
    rig = await startEdgeRig({
      edges: 0,
      boards: [{ id: 'main', width: W, height: H, shardSize: 64, cooldownMs: 0 }],
      env: { ADMIN_TOKEN: ADMIN, ADMIN_CHUNK_TILES: '100000', NATS_STREAM_MAX_AGE_MS: '3600000', NATS_STREAM_MAX_BYTES: '33554432' },
    })
    const w = rig.writer.proc
    const look = await lookAtStream(rig.nats.url, 'main')
    // The writer set the limits it was given on the stream.
    expect(await look.limits()).toEqual({ maxAge: 3_600_000 * 1_000_000, maxBytes: 33_554_432 })
    // A client that holds the empty board (seq 0), and will come back later.
    const old = await openTilesClient(w.wsBase)
    expect(old.cursor()).toBe(0)
    // 147,456 records, more than a State for a starting edge carries (the last 100,000).
    const fill = await adminCall(w.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: W, h: H, color: 5 })
    expect(fill.status, JSON.stringify(fill.body)).toBe(200)
    const { token } = await newSession(w.url)
    for (let i = 0; i < 40; i++) expect((await placeHttp(w.url, token, { x: i, y: 7, color: 1 + (i % 15) })).status).toBe(200)
    const refView = await openTilesClient(w.wsBase)
    const docSeq = refView.cursor() as number
    expect(docSeq).toBe(W * H + 40)
    const floor = docSeq - 100_000
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === String(docSeq), { what: 'every commit in the stream' })

    // A restart of the writer adds nothing: the stream holds its whole document (seq and clock).
    const before = await look.bounds()
    const clock = await look.lastHeader(CLOCK_HEADER)
    await rig.writer.kill()
    await rig.writer.restart()
    expect(await look.bounds()).toEqual(before)
    expect(await look.lastHeader(CLOCK_HEADER)).toBe(clock)

    // Trimmed (purged): an edge that starts now cannot replay the stream.
    await look.purge()
    const edge = await rig.addEdge()
    const board = await sameDocument(rig.writer.proc.wsBase, edge.proc.wsBase, W, H)
    const ref = await openTilesClient(rig.writer.proc.wsBase)
    const view = await openTilesClient(edge.proc.wsBase)
    await sameView(view, ref, board, 'a live=tiles view of the edge')

    const historyOf = async (url: string, x: number, y: number, before?: number) => {
      const res = await fetch(`${url}/api/boards/main/tiles/${x}/${y}/history${before === undefined ? '' : `?before=${before}`}`)
      return { status: res.status, body: (await res.json()) as { placements: { seq: number; color: number }[]; next: number | null } }
    }
    // Tile (0, 0) was last written by the fill's first commit, before the records the State carried.
    const first = (await historyOf(rig.writer.proc.url, 0, 0)).body.placements[0]?.seq as number
    expect(first).toBeLessThanOrEqual(floor)
    // Who placed it, the edge's history cannot tell: it asks the writer (tessera.read), so the
    // answer is the writer's.
    const known = await readTile(edge.proc.url, 0, 0)
    expect(known.status).toBe(200)
    expect(known).toEqual(await readTile(rig.writer.proc.url, 0, 0))
    expect(await historyOf(edge.proc.url, 0, 0)).toEqual(await historyOf(rig.writer.proc.url, 0, 0))
    // A tile placed within the State's records reads as on the writer, and so does its history.
    expect(await readTile(edge.proc.url, 3, 7)).toEqual(await readTile(rig.writer.proc.url, 3, 7))
    const placed = await placeHttp(edge.proc.url, token, { x: 3, y: 7, color: 9 })
    expect(placed.status, JSON.stringify(placed.body)).toBe(200)
    await waitFor(async () => (await readTile(edge.proc.url, 3, 7)).body.color === 9, { what: 'the new tile on the edge' })
    expect(await readTile(edge.proc.url, 3, 7)).toEqual(await readTile(rig.writer.proc.url, 3, 7))
    const page = await historyOf(edge.proc.url, 3, 7)
    const writerPage = await historyOf(rig.writer.proc.url, 3, 7)
    // The writer has the fill's record below them, which the edge's history lacks: the page is the writer's.
    expect(writerPage.body.placements.map((p) => p.seq)).toEqual([docSeq + 1, W * H + 4, 7 * W + 3 + 1])
    expect(page).toEqual(writerPage)

    // A client that last held a seq from before the hole resumes on the edge with the whole board.
    await old.moveTo(edge.proc.wsBase)
    const now = await sameDocument(rig.writer.proc.wsBase, edge.proc.wsBase, W, H)
    await sameView(old, ref, now, 'a client resumed on the edge from a seq it lacks')

    // Restarted, the edge still knows where its history starts.
    await edge.kill()
    await edge.restart()
    expect(await readTile(edge.proc.url, 0, 0)).toEqual(await readTile(rig.writer.proc.url, 0, 0))
    expect(await readTile(edge.proc.url, 3, 7)).toEqual(await readTile(rig.writer.proc.url, 3, 7))
    const again = await openTilesClient(edge.proc.wsBase)
    await sameView(again, ref, now, 'a view of the restarted edge')
    for (const c of [old, refView, ref, view, again]) c.close()
    await look.close()
  })

  it('an edge that finds a message missing repairs the gap from the writer, records included', async () => {
    const W = 32
    const H = 32
    rig = await startEdgeRig({
      edges: 1,
      boards: [{ id: 'main', width: W, height: H, shardSize: 16, cooldownMs: 0 }],
      env: { ADMIN_TOKEN: ADMIN },
    })
    const w = rig.writer.proc
    const edge = rig.edges[0] as EdgeRig['edges'][number]
    const look = await lookAtStream(rig.nats.url, 'main')
    const { token } = await newSession(w.url)
    const tile = (i: number) => ({ x: i % W, y: Math.floor(i / W), color: 1 + (i % 15) })
    for (let i = 0; i < 20; i++) expect((await placeHttp(w.url, token, tile(i))).status).toBe(200)
    await sameDocument(w.wsBase, edge.proc.wsBase, W, H)
    await edge.kill()
    for (let i = 20; i < 35; i++) expect((await placeHttp(w.url, token, tile(i))).status).toBe(200)
    // A change of the board's settings: a message with no records (only the stream's sequences tell it is missing).
    // Published alone (commits waiting together are merged into one message): once the stream
    // holds every placement before it, and before any placement after it.
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '35', { what: 'the placements before it in the stream' })
    const count = (await look.bounds()).last
    const info = (await adminCall(w.url, ADMIN, 'GET', '/boards/main')).body as { palette: string[] }
    const patched = await adminCall(w.url, ADMIN, 'PATCH', '/boards/main', { palette: [...info.palette, '#123456'] })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    await waitFor(async () => (await look.bounds()).last === count + 1, { what: 'the settings change in the stream' })
    for (let i = 35; i < 50; i++) expect((await placeHttp(w.url, token, tile(i))).status).toBe(200)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '50', { what: 'every commit in the stream' })
    // The stream loses a message the edge has not read: the settings change.
    const held = await look.messages()
    const config = held.find((m) => {
      const c = decodeCommitMessage(m.data)
      return c.kind === CommitKind.Commit && c.records.length === 0
    })
    expect(config).toBeDefined()
    await look.remove(config?.seq as number)
    expect((await look.bounds()).messages).toBe(held.length - 1)
    await edge.restart()
    const board = await sameDocument(w.wsBase, edge.proc.wsBase, W, H)
    const palette = async (url: string) => ((await (await fetch(`${url}/api/boards/main`)).json()) as { palette: string[] }).palette
    expect(await palette(edge.proc.url)).toEqual([...info.palette, '#123456'])
    const ref = await openTilesClient(w.wsBase)
    const view = await openTilesClient(edge.proc.wsBase)
    await sameView(view, ref, board, 'the repaired edge')

    // Again, a placement's message this time (one a message: the placements were one by one).
    view.close()
    await edge.kill()
    for (let i = 50; i < 60; i++) expect((await placeHttp(w.url, token, tile(i))).status).toBe(200)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === '60', { what: 'every commit in the stream' })
    const { last } = await look.bounds()
    await look.remove(last - 5)
    await edge.restart()
    const repaired = await sameDocument(w.wsBase, edge.proc.wsBase, W, H)
    const again = await openTilesClient(edge.proc.wsBase)
    await sameView(again, ref, repaired, 'the edge repaired again')
    // Every record is in the edge's history again: tile reads and a resume from seq 60 answer as the writer.
    for (let i = 0; i < 60; i++) {
      const { x, y } = tile(i)
      expect(await readTile(edge.proc.url, x, y)).toEqual(await readTile(w.url, x, y))
    }
    const resumed = await openTilesClient(w.wsBase)
    // Placements after the repair go on as before.
    for (let i = 60; i < 70; i++) expect((await placeHttp(edge.proc.url, token, tile(i))).status).toBe(200)
    const after = await sameDocument(w.wsBase, edge.proc.wsBase, W, H)
    await sameView(again, ref, after, 'the repaired edge after more placements')
    await resumed.moveTo(edge.proc.wsBase)
    await sameView(resumed, ref, after, 'a client resumed on the repaired edge')
    for (const c of [ref, again, resumed]) c.close()
    await look.close()
  })
})
