/**
 * The sync-answer amplification attack of issue 11 at ten times its reported size (400 sockets
 * that never read, 20 sync step 1 frames each; 50 reading sockets asking 50 times a second; 10 s)
 * against a relay process on a painted 1000 x 1000 board: the relay's RSS growth, its health
 * check's latency, and a placement's latency during the attack. Targets: +200 MB, health under
 * 100 ms.
 */

import { mintTokens, spawnRelay } from './helpers/relay-process.ts'
import type { FigureOptions, Row } from './helpers/table.ts'
import { HEALTH_TIMEOUT_MS, paintBoard, percentile, syncFlood } from './load/sync-flood.ts'

const ADMIN = 'bench-flood-admin-token-0123456789'

export const runFlood = async (o: FigureOptions): Promise<Row[]> => {
  const relay = await spawnRelay({ env: { ADMIN_TOKEN: ADMIN, MESSAGES_PER_SECOND: '50', MESSAGE_BURST: '200' } })
  try {
    await paintBoard(relay.url, ADMIN)
    const [token] = await mintTokens(relay.url, 1, 1)
    let n = 0
    const scale = o.quick ? 0.25 : 1
    const report = await syncFlood({
      port: relay.port,
      pid: relay.pid,
      board: 'main',
      silent: Math.round(400 * scale),
      framesPerSilent: 20,
      reading: Math.round(50 * scale),
      readingRate: 50,
      durationMs: 10_000,
      probe: async () => {
        n += 1
        const t = AbortSignal.timeout(HEALTH_TIMEOUT_MS)
        await fetch(`${relay.url}/api/boards/main/place`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ x: n % 1000, y: 9, color: 1 }),
          signal: t,
        }).catch(() => null)
      },
    })
    const details = { ...report, health: undefined, probe: undefined, scale }
    return [
      {
        key: 'flood-rss',
        figure: `sync flood x${10 * scale}: relay RSS growth`,
        value: (report.peakRss - report.baselineRss) / 2 ** 20,
        unit: 'MB',
        target: { op: '<=', value: 200 },
        details,
      },
      {
        key: 'flood-health-p99',
        figure: `sync flood x${10 * scale}: health check p99 (${report.healthTimeouts} unanswered in ${HEALTH_TIMEOUT_MS} ms)`,
        value: percentile(report.health, 99),
        unit: 'ms',
        digits: 1,
        target: { op: '<=', value: 100 },
      },
      {
        key: 'flood-place-p50',
        figure: `sync flood x${10 * scale}: placement over HTTP, p50`,
        value: percentile(report.probe, 50),
        unit: 'ms',
        digits: 1,
      },
    ]
  } finally {
    await relay.stop()
  }
}
