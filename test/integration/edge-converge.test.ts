/**
 * Issue 16, first test: one writer relay and two edge relays over a real nats-server with
 * JetStream. A y-websocket provider on each relay, a live=tiles socket on one edge, an HTTP bot
 * placing through the other edge and a WebSocket placer on the first: every view converges to
 * the writer's board exactly (same document, same bitmap, same seqs), and tile reads on an edge
 * answer as the writer does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { randomInts } from '../helpers/prng.ts'
import { openTilesClient } from '../helpers/tiles-client.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = 32
const H = 32
let rig: EdgeRig
beforeAll(async () => {
  rig = await startEdgeRig({ edges: 2, boards: [{ id: 'main', width: W, height: H, shardSize: 16, cooldownMs: 0 }] })
}, 120_000)
afterAll(async () => {
  await rig?.tearDown()
})

describe('one writer, two edges', () => {
  it('converge to the writer board exactly', async () => {
    const [a, b] = rig.edges.map((e) => e.proc) as [NonNullable<EdgeRig['edges'][0]>['proc'], NonNullable<EdgeRig['edges'][0]>['proc']]
    const w = rig.writer.proc
    const ref = await connectProvider(w.wsBase)
    const onA = await connectProvider(a.wsBase)
    const onB = await connectProvider(b.wsBase)
    const tiles = await openTilesClient(a.wsBase)
    const refTiles = await openTilesClient(w.wsBase)

    // A bot places over HTTP through edge B; a socket with its own identity places through edge A.
    const bot = await newSession(b.url)
    const person = await newSession(a.url)
    const placer = await openRaw(`${a.wsBase}/main?token=${person.token}`)
    const rand = randomInts(16)
    const acked: { x: number; y: number; color: number }[] = []
    const http = (async () => {
      for (let i = 0; i < 150; i++) {
        const t = { x: rand(W), y: rand(H), color: 1 + rand(15) }
        const res = await placeHttp(b.url, bot.token, t)
        expect(res.status, JSON.stringify(res.body)).toBe(200)
        acked.push(t)
      }
    })()
    const ws = (async () => {
      for (let i = 0; i < 150; i++) {
        const t = { x: rand(W), y: rand(H), color: 1 + rand(15) }
        const res = await placer.place(t.x, t.y, t.color, `edge-ws-${i}`)
        expect(res.ok, JSON.stringify(res)).toBe(true)
        acked.push(t)
      }
    })()
    await Promise.all([http, ws])
    expect(acked.length).toBe(300)

    // The writer's own view holds every acknowledged placement: 300 seqs.
    await waitFor(
      () => {
        refTiles.pump()
        return refTiles.cursor() === 300
      },
      { what: 'writer at seq 300' },
    )
    const board = () => readBoardBitmap(ref.doc, W, H)
    await waitFor(() => sameBytes(board(), refTiles.board()?.bitmap ?? new Uint8Array()), { what: 'writer provider' })
    await waitFor(
      () => {
        tiles.pump()
        return tiles.cursor() === 300 && sameBytes(tiles.board()?.bitmap ?? new Uint8Array(), board())
      },
      { what: 'live=tiles view on edge A' },
    )
    expect(tiles.gaps).toEqual([])
    for (const p of [onA, onB]) {
      await waitFor(() => sameBytes(readBoardBitmap(p.doc, W, H), board()), { what: 'provider on an edge' })
      // The same document, not only the same picture: a client may move between relays.
      expect(sameBytes(Y.encodeStateVector(p.doc), Y.encodeStateVector(ref.doc))).toBe(true)
    }
    // The last placement on each tile as the edges read it from their own history.
    for (const { x, y } of acked.slice(-10)) {
      const read = async (url: string) => (await fetch(`${url}/api/boards/main/tiles/${x}/${y}`)).json()
      const fromWriter = await read(w.url)
      expect(await read(a.url)).toEqual(fromWriter)
      expect(await read(b.url)).toEqual(fromWriter)
    }
    for (const c of [ref, onA, onB]) c.close()
    tiles.close()
    refTiles.close()
    placer.close()
  })
})
