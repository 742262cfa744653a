/**
 * Issue 16, stream messages larger than the NATS server's max_payload (64 KiB here): a writer's
 * large commits (an admin fill of 147,456 tiles in two commits) and its State message (its whole
 * document, published for an edge that starts after the stream was purged) go to the stream in
 * parts; the edge puts them together and holds exactly the writer's board and document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { decodeCommitMessage, SEQ_HEADER } from '../../shared/stream-messages.ts'
import { decodePart, isPart } from '../../shared/stream-parts.ts'
import { adminCall } from '../helpers/admin.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, SMALL_PAYLOAD, SMALL_SIDE, startSmallMessageRig } from '../helpers/edge-rig.ts'
import { randomInts } from '../helpers/prng.ts'
import { lookAtStream } from '../helpers/stream-reader.ts'
import { openTilesClient } from '../helpers/tiles-client.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = SMALL_SIDE
const H = SMALL_SIDE
const ADMIN = 'admin-token-0123456789abcdef'
const MAX_PAYLOAD = SMALL_PAYLOAD
let rig: EdgeRig
beforeAll(async () => {
  rig = await startSmallMessageRig(0, ADMIN)
}, 120_000)
afterAll(async () => {
  await rig?.tearDown()
})

describe('a stream whose server allows 64 KiB a message', () => {
  it('carries larger commits and the writer state in parts; an edge converges exactly', async () => {
    const w = rig.writer.proc
    // A fill of the whole board: two commits of about 1 MB of records each.
    const fill = await adminCall(w.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: W, h: H, color: 5 })
    expect(fill.status, JSON.stringify(fill.body)).toBe(200)
    const { token } = await newSession(w.url)
    const rand = randomInts(7)
    for (let i = 0; i < 300; i++) {
      const res = await placeHttp(w.url, token, { x: rand(W), y: rand(H), color: 1 + rand(15) })
      expect(res.status).toBe(200)
    }
    const look = await lookAtStream(rig.nats.url, 'main')
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === String(W * H + 300), { what: 'every commit in the stream' })
    const fillParts = (await look.messages()).filter((m) => isPart(m.data))
    expect(fillParts.length).toBeGreaterThan(2)
    // An edge that starts after the stream was emptied asks the writer for a State: its whole
    // document (well over 64 KiB), published in parts.
    await look.purge()
    const edge = await rig.addEdge()
    const held = await look.messages()
    for (const m of held) expect(m.data.length).toBeLessThanOrEqual(MAX_PAYLOAD)
    const parts = held.filter((m) => isPart(m.data)).map((m) => decodePart(m.data))
    expect(parts.length).toBeGreaterThan(2)
    // The State among them: put together from its own parts, it is the writer's whole document.
    const sets = new Map<string, Uint8Array[]>()
    for (const p of parts) sets.set(p.set, [...(sets.get(p.set) ?? []), p.bytes])
    const kinds = [...sets.values()].map((pieces) => decodeCommitMessage(Buffer.concat(pieces)).kind)
    expect(kinds).toContain(1)
    await look.close()

    const ref = await connectProvider(rig.writer.proc.wsBase)
    const onEdge = await connectProvider(edge.proc.wsBase)
    await waitFor(() => sameBytes(Y.encodeStateVector(onEdge.doc), Y.encodeStateVector(ref.doc)), {
      what: 'the edge document',
      timeoutMs: 30_000,
    })
    expect(sameBytes(Y.encodeStateAsUpdate(onEdge.doc), Y.encodeStateAsUpdate(ref.doc))).toBe(true)
    const board = readBoardBitmap(ref.doc, W, H)
    expect(sameBytes(readBoardBitmap(onEdge.doc, W, H), board)).toBe(true)
    // The edge's own view (its bitmap and seqs), tile for tile, as a live=tiles client reads it.
    const tiles = await openTilesClient(edge.proc.wsBase)
    const refTiles = await openTilesClient(rig.writer.proc.wsBase)
    await waitFor(
      () => {
        tiles.pump()
        refTiles.pump()
        return (
          (tiles.cursor() ?? 0) > 0 && tiles.cursor() === refTiles.cursor() && sameBytes(tiles.board()?.bitmap ?? new Uint8Array(), board)
        )
      },
      { what: 'the edge bitmap' },
    )
    for (const c of [ref, onEdge]) c.close()
    tiles.close()
    refTiles.close()
  })
})
