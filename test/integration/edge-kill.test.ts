/**
 * Issue 16: kill -9 of relays under load. An edge killed: its live=tiles clients resume on the
 * other edge with `since` and lose nothing, and the edge, started again, catches up from the
 * stream. The writer killed: every placement an edge acknowledged is on the board once the
 * writer is back, and the edges go on without a restart.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { convergedTo as converged, startTileBot, tileOf as tileAt } from '../helpers/edge-load.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { openTilesClient } from '../helpers/tiles-client.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = 64
const H = 64
let rig: EdgeRig | null = null
afterEach(async () => {
  await rig?.tearDown()
  rig = null
})

const board = { width: W, height: H }
const tileOf = (n: number) => tileAt(n, W, H)

describe('kill -9 under load', () => {
  it('of an edge: its clients resume on the other edge with since; the edge restarts and catches up', async () => {
    rig = await startEdgeRig({ edges: 2, boards: [{ id: 'main', width: W, height: H, shardSize: 16, cooldownMs: 0 }] })
    const [a, b] = rig.edges as [EdgeRig['edges'][number], EdgeRig['edges'][number]]
    const viewers = await Promise.all([0, 1, 2].map(() => openTilesClient(a.proc.wsBase)))
    const bot = await startTileBot(() => [b.proc.url], board)
    await waitFor(() => bot.acked.length >= 50, { what: '50 placements' })
    await a.kill()
    // The clients of A resume on B from their cursors while placements go on.
    for (const v of viewers) await v.moveTo(b.proc.wsBase)
    await waitFor(() => bot.acked.length >= 150, { what: '150 placements' })
    await a.restart()
    await bot.stop()
    expect(bot.refused).toEqual([])

    const total = bot.acked.length
    const ref = await connectProvider(rig.writer.proc.wsBase)
    const seen = () => readBoardBitmap(ref.doc, W, H)
    for (const { x, y, color } of bot.acked.map(tileOf)) expect(seen()[y * W + x]).toBe(color)
    for (const v of viewers) await converged(v, total, seen, 'a resumed viewer on edge B')
    // The restarted edge caught up from the stream: the same document and seqs as the writer.
    const again = await openTilesClient(a.proc.wsBase)
    await converged(again, total, seen, 'a viewer of the restarted edge')
    const onA = await connectProvider(a.proc.wsBase)
    await waitFor(() => sameBytes(Y.encodeStateVector(onA.doc), Y.encodeStateVector(ref.doc)), { what: 'restarted edge document' })
    expect(sameBytes(readBoardBitmap(onA.doc, W, H), seen())).toBe(true)
    for (const c of [ref, onA]) c.close()
    for (const v of [...viewers, again]) v.close()
  })

  it('of the writer: every acknowledged placement is on the board after it restarts; edges resume by themselves', async () => {
    rig = await startEdgeRig({ edges: 2, boards: [{ id: 'main', width: W, height: H, shardSize: 16, cooldownMs: 0 }] })
    const { writer, edges } = rig
    const [a, b] = edges as [EdgeRig['edges'][number], EdgeRig['edges'][number]]
    const viewerA = await openTilesClient(a.proc.wsBase)
    const viewerB = await openTilesClient(b.proc.wsBase)
    const bot = await startTileBot(() => [a.proc.url, b.proc.url], board)
    const bot2 = await startTileBot(() => [b.proc.url, a.proc.url], board, 2_000)
    await waitFor(() => bot.acked.length + bot2.acked.length >= 100, { what: '100 placements' })
    await writer.kill()
    // While the writer is down, the edges refuse placements (503) and stay up for viewers.
    const refusedBefore = bot.refused.length
    await waitFor(() => bot.refused.length > refusedBefore, { what: 'a refusal while the writer is down' })
    const down = await placeHttp(a.proc.url, (await newSession(a.proc.url)).token, { x: 0, y: 0, color: 1 })
    expect(down.status).toBe(503)
    expect(down.body.error).toBe('unavailable')
    expect(down.headers.get('retry-after')).toBe('1')
    await writer.restart()
    const after = bot.acked.length + bot2.acked.length
    await waitFor(() => bot.acked.length + bot2.acked.length >= after + 100, { what: '100 placements after the restart' })
    await bot.stop()
    await bot2.stop()

    const ref = await connectProvider(writer.proc.wsBase)
    const refTiles = await openTilesClient(writer.proc.wsBase)
    const seen = () => readBoardBitmap(ref.doc, W, H)
    await waitFor(
      () => {
        refTiles.pump()
        return sameBytes(seen(), refTiles.board()?.bitmap ?? new Uint8Array())
      },
      { what: 'writer views' },
    )
    // Tiles are written once each, so an acknowledged tile must show its colour.
    for (const { x, y, color } of [...bot.acked, ...bot2.acked].map(tileOf)) expect(seen()[y * W + x]).toBe(color)
    const last = refTiles.cursor() as number
    for (const v of [viewerA, viewerB]) await converged(v, last, seen, 'an edge viewer after the writer restart')
    for (const e of [a, b]) {
      const p = await connectProvider(e.proc.wsBase)
      await waitFor(() => sameBytes(Y.encodeStateVector(p.doc), Y.encodeStateVector(ref.doc)), { what: 'edge document' })
      p.close()
    }
    ref.close()
    for (const v of [viewerA, viewerB, refTiles]) v.close()
  })
})
