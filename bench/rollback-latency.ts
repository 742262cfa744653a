/**
 * Placement latency during a large rollback: a 500 x 500 board is filled by the admin (250,000
 * history records), then the fill is rolled back (every tile restored) while one socket places
 * 200 placements a second on random tiles of that board and times each acknowledgement (send to
 * PlaceResult, one clock). Only placements sent between the rollback's request and its answer
 * count. The rollback runs in chunks (ADMIN_CHUNK_TILES) between which placements commit; a
 * rollback that paused commits throughout would hold every one of them for its whole duration.
 */
import * as decoding from 'lib0/decoding'
import { encodePlace } from '../shared/frames.ts'
import { MessageType } from '../shared/protocol.ts'
import { clientFrame, connectRaw } from './helpers/raw-ws.ts'
import { mintTokens, spawnRelay } from './helpers/relay-process.ts'
import { createHistogram } from './helpers/stats.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

const ADMIN = 'bench-rollback-admin-token'
/** Placements per second during the rollback, and their spacing in ms. */
const RATE = 200

const admin = async (url: string, path: string, body: unknown) => {
  const res = await fetch(`${url}/api/admin${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as Record<string, unknown>
}

export const runRollbackLatency = async (o: FigureOptions): Promise<Row[]> => {
  const side = o.quick ? 200 : 500
  const tiles = side * side
  const relay = await spawnRelay({ env: { BOARD_WIDTH: String(side), BOARD_HEIGHT: String(side), ADMIN_TOKEN: ADMIN } })
  try {
    await admin(relay.url, '/boards/main/fill', { x: 0, y: 0, w: side, h: side, color: 5 })
    const [token] = await mintTokens(relay.url, 1)
    const sentAt = new Map<number, number>()
    const latencies: { sent: number; ms: number }[] = []
    let rejected = 0
    const ws = await connectRaw({
      port: relay.port,
      path: `/ws/main?token=${token}&live=tiles`,
      onMessage: (payload) => {
        if (payload[0] !== MessageType.PlaceResult) return
        const dec = decoding.createDecoder(payload)
        decoding.readVarUint(dec)
        const requestId = decoding.readVarUint(dec)
        const ok = decoding.readVarUint(dec) === 0
        const t = sentAt.get(requestId)
        if (t === undefined) return
        sentAt.delete(requestId)
        if (ok) latencies.push({ sent: t, ms: performance.now() - t })
        else rejected += 1
      },
    })
    let requestId = 0
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return (seed >>> 8) % n
    }
    const pacer = setInterval(() => {
      const id = ++requestId
      sentAt.set(id, performance.now())
      ws.write(clientFrame(encodePlace({ requestId: id, x: rand(side), y: rand(side), color: 1 + rand(15) })))
    }, 1000 / RATE)
    // One second of placements before, so that the socket and the relay are warm.
    await new Promise((r) => setTimeout(r, 1000))
    const t0 = performance.now()
    const outcome = await admin(relay.url, '/boards/main/rollback', { user: '@admin' })
    const t1 = performance.now()
    // Placements sent during the rollback may be acknowledged after it: wait for them.
    clearInterval(pacer)
    const deadline = Date.now() + 60_000
    while ([...sentAt.values()].some((t) => t <= t1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    ws.close()
    const h = createHistogram()
    let during = 0
    for (const l of latencies) {
      if (l.sent < t0 || l.sent > t1) continue
      h.add(l.ms)
      during += 1
    }
    const details = {
      tiles,
      placements: outcome.placements,
      changed: outcome.tiles,
      rollbackMs: Math.round(t1 - t0),
      placementsDuring: during,
      rejected,
      rate: RATE,
      chunkTiles: 'ADMIN_CHUNK_TILES default',
    }
    const n = tiles.toLocaleString('en-US')
    return [
      {
        key: 'rollback-p50',
        figure: `placement latency p50 during a ${n}-tile rollback (${RATE}/s, ${during} placements)`,
        value: h.percentile(50),
        unit: 'ms',
        digits: 1,
        details,
      },
      {
        key: 'rollback-p99',
        figure: `placement latency p99 during a ${n}-tile rollback`,
        value: h.percentile(99),
        unit: 'ms',
        digits: 1,
        target: { op: '<=', value: 100 },
      },
      {
        key: 'rollback-duration',
        figure: `the ${n}-tile rollback itself (request to answer)`,
        value: (t1 - t0) / 1000,
        unit: 's',
        digits: 1,
      },
    ]
  } finally {
    await relay.stop()
  }
}
