/**
 * Issue 16: relays started while NATS is unreachable. The writer and an edge start anyway: they
 * serve reads (board info, tiles, a y-websocket sync; the edge from what its DATA_DIR holds) and
 * refuse placements (503, Retry-After) and, on the edge, admin calls; once nats-server starts,
 * placements through either succeed and reach the other.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { adminCall } from '../helpers/admin.ts'
import { connectProvider, newSession, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = 16
const ADMIN = 'edge-nats-start-token-0123456789'
let rig: EdgeRig | null = null
afterEach(async () => {
  await rig?.tearDown()
  rig = null
})

const colorAt = async (base: string, x: number, y: number) => {
  const res = await fetch(`${base}/api/boards/main/tiles/${x}/${y}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { color: number }).color
}

/** Reads answer as usual, a placement is refused 503 with Retry-After. */
const servesReadsRefusesPlacements = async (base: string, wsBase: string, token: string, expected: Record<string, number>) => {
  const info = await fetch(`${base}/api/boards/main`)
  expect(info.status).toBe(200)
  for (const [at, color] of Object.entries(expected)) {
    const [x, y] = at.split(',').map(Number) as [number, number]
    expect(await colorAt(base, x, y)).toBe(color)
  }
  const provider = await connectProvider(wsBase)
  const bitmap = readBoardBitmap(provider.doc, W, W)
  for (const [at, color] of Object.entries(expected)) {
    const [x, y] = at.split(',').map(Number) as [number, number]
    expect(bitmap[y * W + x]).toBe(color)
  }
  provider.close()
  const placed = await placeHttp(base, token, { x: 5, y: 5, color: 9 })
  expect(placed.status, JSON.stringify(placed.body)).toBe(503)
  expect(placed.body.error).toBe('unavailable')
  expect(placed.headers.get('retry-after')).toBe('1')
}

/** Places until the relay takes it (503 while NATS is not there yet). */
const placeOnceUp = (base: string, token: string, tile: { x: number; y: number; color: number }) =>
  waitFor(
    async () => {
      const r = await placeHttp(base, token, tile)
      if (r.status === 503) return null
      expect(r.status, JSON.stringify(r.body)).toBe(200)
      return r
    },
    { what: `a placement through ${base} once NATS is up`, timeoutMs: 30_000 },
  )

describe('starting while NATS is unreachable', () => {
  it('serves reads and refuses placements until NATS is up, then places and follows', async () => {
    rig = await startEdgeRig({
      edges: 1,
      boards: [{ id: 'main', width: W, height: W, shardSize: 16, cooldownMs: 0 }],
      env: { ADMIN_TOKEN: ADMIN },
      natsStopped: true,
    })
    const { writer, nats } = rig
    const edge = rig.edges[0] as EdgeRig['edges'][number]
    const person = await newSession(edge.proc.url)
    await servesReadsRefusesPlacements(writer.proc.url, writer.proc.wsBase, person.token, { '1,1': 0 })
    await servesReadsRefusesPlacements(edge.proc.url, edge.proc.wsBase, person.token, { '1,1': 0 })
    const admin = await adminCall(edge.proc.url, ADMIN, 'GET', '/bans')
    expect(admin.status).toBe(503)

    await nats.start()
    await placeOnceUp(writer.proc.url, person.token, { x: 1, y: 1, color: 4 })
    await placeOnceUp(edge.proc.url, person.token, { x: 2, y: 2, color: 6 })
    for (const base of [writer.proc.url, edge.proc.url]) {
      await waitFor(async () => (await colorAt(base, 1, 1)) === 4 && (await colorAt(base, 2, 2)) === 6, {
        what: `both placements on ${base}`,
      })
    }
    expect((await adminCall(edge.proc.url, ADMIN, 'GET', '/bans')).status).toBe(200)

    // Both stopped, NATS too, and started again without it: the edge serves its DATA_DIR's board.
    await nats.stop()
    await writer.kill()
    await edge.kill()
    await writer.restart()
    await edge.restart()
    await servesReadsRefusesPlacements(edge.proc.url, edge.proc.wsBase, person.token, { '1,1': 4, '2,2': 6 })
    await servesReadsRefusesPlacements(writer.proc.url, writer.proc.wsBase, person.token, { '1,1': 4, '2,2': 6 })
    await nats.start()
    await placeOnceUp(edge.proc.url, person.token, { x: 3, y: 3, color: 2 })
    await placeOnceUp(writer.proc.url, person.token, { x: 4, y: 4, color: 3 })
    for (const base of [writer.proc.url, edge.proc.url]) {
      await waitFor(async () => (await colorAt(base, 3, 3)) === 2 && (await colorAt(base, 4, 4)) === 3, {
        what: `the later placements on ${base}`,
      })
    }
  }, 120_000)
})
