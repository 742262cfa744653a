/**
 * Concurrent viewer sockets held, and the relay's resident memory. Two generator processes
 * open 5,000 anonymous viewer sockets each; then one placement is made over HTTP and every
 * socket must receive its broadcast (so "held" means live, not just accepted). RSS is read from
 * /proc/<relay pid>/status (VmRSS) after the broadcast and a heartbeat (HEARTBEAT_MS=2000, the
 * generators answer pings).
 */

import { LiveMode } from '../shared/protocol.ts'
import { settle } from './fanout.ts'
import { startChild } from './helpers/child.ts'
import { mintTokens, spawnRelay } from './helpers/relay-process.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

export const measureSockets = async (opts: { sockets: number; generators: number }) => {
  const relay = await spawnRelay({ env: { HEARTBEAT_MS: '2000' } })
  const gens = await Promise.all(Array.from({ length: opts.generators }, () => startChild('load/viewers.ts')))
  try {
    const idleRssKb = relay.rssKb()
    const t0 = performance.now()
    const share = Math.ceil(opts.sockets / gens.length)
    await Promise.all(gens.map((g) => g.call('open', { port: relay.port, n: share, live: LiveMode.Tiles })))
    const connectSeconds = (performance.now() - t0) / 1000
    const [token] = await mintTokens(relay.url, 1)
    const res = await fetch(`${relay.url}/api/boards/main/place`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ x: 1, y: 2, color: 3 }),
    })
    if (!res.ok) throw new Error(`place: ${res.status}`)
    const stats = await settle(gens)
    // Two heartbeats (pings answered, Presence) while held.
    await new Promise((r) => setTimeout(r, 4_500))
    const after = await Promise.all(gens.map((g) => g.call<{ open: number; minFrames: number }>('stats')))
    const live = after.reduce((n, s) => n + s.open, 0)
    const received = stats.every((s) => s.minFrames >= 1)
    const rssKb = relay.rssKb()
    return {
      held: received ? live : 0,
      live,
      received,
      rssMb: rssKb / 1024,
      idleRssMb: idleRssKb / 1024,
      kbPerSocket: (rssKb - idleRssKb) / opts.sockets,
      connectSeconds,
    }
  } finally {
    await Promise.all(gens.map((g) => g.stop()))
    await relay.stop()
  }
}

export const runSockets = async ({ quick }: FigureOptions): Promise<Row[]> => {
  const sockets = quick ? 2_000 : 10_000
  const r = await measureSockets({ sockets, generators: 2 })
  const label = sockets.toLocaleString('en-US')
  return [
    {
      key: 'sockets-held',
      figure: `concurrent viewer sockets held (of ${label} opened)`,
      value: r.held,
      unit: '',
      target: { op: '>=', value: sockets },
      details: r,
    },
    { key: 'sockets-rss', figure: `relay RSS with ${label} viewer sockets`, value: r.rssMb, unit: 'MB', target: { op: '<=', value: 1024 } },
  ]
}
