/**
 * Issue 16: NATS itself stopped and started again. Placements through the writer and through
 * the edges are refused (503 unavailable, Retry-After) while it is down and resume once it is
 * back; nothing acknowledged is lost and the edges converge without a restart. And a commit that
 * was durable on the writer but never published (an admin fill made while NATS was down, then
 * the writer killed) reaches the edges when the writer starts again.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { adminCall } from '../helpers/admin.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider } from '../helpers/clients.ts'
import { convergedTo, startTileBot, tileOf } from '../helpers/edge-load.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { openTilesClient } from '../helpers/tiles-client.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = 128
const H = 128
const board = { width: W, height: H }
const ADMIN = 'edge-nats-admin-token-0123456789'
let rig: EdgeRig | null = null
afterEach(async () => {
  await rig?.tearDown()
  rig = null
})

const startRig = () =>
  startEdgeRig({ edges: 2, boards: [{ id: 'main', width: W, height: H, shardSize: 16, cooldownMs: 0 }], env: { ADMIN_TOKEN: ADMIN } })

describe('NATS restarted', () => {
  it('pauses placements on the writer and the edges, resumes them, loses nothing acknowledged', async () => {
    rig = await startRig()
    const { writer, edges, nats } = rig
    const [a, b] = edges as [EdgeRig['edges'][number], EdgeRig['edges'][number]]
    const viewerA = await openTilesClient(a.proc.wsBase)
    const viewerB = await openTilesClient(b.proc.wsBase)
    // Paced (5 ms between placements) so that neither bot wraps round its half of the board.
    const viaEdges = await startTileBot(() => [a.proc.url, b.proc.url], board, 0, 5)
    const viaWriter = await startTileBot(() => [writer.proc.url], board, 8_000, 5)
    await waitFor(() => viaEdges.acked.length >= 50 && viaWriter.acked.length >= 50, { what: 'placements before' })
    await nats.stop(true)
    const refused = [viaEdges.refused.length, viaWriter.refused.length]
    await waitFor(() => viaEdges.refused.length > (refused[0] as number) && viaWriter.refused.length > (refused[1] as number), {
      what: 'refusals on the edges and the writer while NATS is down',
    })
    await nats.start()
    const before = [viaEdges.acked.length, viaWriter.acked.length]
    await waitFor(() => viaEdges.acked.length >= (before[0] as number) + 50 && viaWriter.acked.length >= (before[1] as number) + 50, {
      what: 'placements after NATS is back',
      timeoutMs: 30_000,
    })
    await viaEdges.stop()
    await viaWriter.stop()
    expect(Math.max(...viaEdges.acked)).toBeLessThan(8_000)

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
    for (const { x, y, color } of [...viaEdges.acked, ...viaWriter.acked].map((n) => tileOf(n, W, H))) expect(seen()[y * W + x]).toBe(color)
    const last = refTiles.cursor() as number
    for (const v of [viewerA, viewerB]) await convergedTo(v, last, seen, 'an edge viewer after NATS came back')
    for (const e of [a, b]) {
      const p = await connectProvider(e.proc.wsBase)
      await waitFor(() => sameBytes(Y.encodeStateVector(p.doc), Y.encodeStateVector(ref.doc)), { what: 'edge document' })
      p.close()
    }
    ref.close()
    for (const v of [viewerA, viewerB, refTiles]) v.close()
  })

  it('publishes at the writer start what it made durable but could not publish', async () => {
    rig = await startRig()
    const { writer, edges, nats } = rig
    const [a] = edges as [EdgeRig['edges'][number]]
    const viewer = await openTilesClient(a.proc.wsBase)
    await nats.stop(true)
    // Admin writes are not refused while NATS is down: durable on the writer, unpublished.
    const fill = await adminCall(writer.proc.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: 8, h: 4, color: 5 })
    expect(fill.status).toBe(200)
    await writer.kill()
    await nats.start()
    await writer.restart()
    const ref = await connectProvider(writer.proc.wsBase)
    const seen = () => readBoardBitmap(ref.doc, W, H)
    expect(seen()[3 * W + 7]).toBe(5)
    await convergedTo(viewer, 32, seen, 'the edge viewer holding the fill')
    ref.close()
    viewer.close()
  })
})
