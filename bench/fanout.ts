/**
 * Placement deliveries/s to 1,000 viewers, and bytes per placement in the broadcast frames at
 * that (saturating) load. 1,000 anonymous viewer sockets in one generator process count the
 * update frames they receive; 100 placer identities in another send as fast as the relay
 * answers. Deliveries = accepted placements x viewers that received every frame; time = first
 * send to the last frame's arrival at the last viewer.
 */
import { LiveMode } from '../shared/protocol.ts'
import type { Child } from './helpers/child.ts'
import { withLoadRig } from './helpers/load-rig.ts'
import { wallMs } from './helpers/stats.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

type ViewerStats = {
  viewers: number
  minFrames: number
  maxFrames: number
  refPayloadBytes: number
  refWireBytes: number
  lastArrival: number
}

/** Waits until every viewer holds as many frames as the reference and the count stops moving. */
export const settle = async (viewers: Child[], timeoutMs = 15_000): Promise<ViewerStats[]> => {
  const deadline = wallMs() + timeoutMs
  let prev = -1
  for (;;) {
    const all = await Promise.all(viewers.map((v) => v.call<ViewerStats>('stats')))
    const max = Math.max(...all.map((s) => s.maxFrames))
    const min = Math.min(...all.map((s) => s.minFrames))
    if ((min === max && max === prev) || wallMs() > deadline) return all
    prev = max
    await new Promise((r) => setTimeout(r, 250))
  }
}

/**
 * settle for several generators each on its own relay (an edge frames its commits its own way, so
 * their counts differ): waits until each one's viewers hold as many frames as its reference.
 */
export const settleEach = async (generators: Child[], timeoutMs: number): Promise<ViewerStats[]> =>
  (await Promise.all(generators.map((g) => settle([g], timeoutMs)))).flat()

export const measureFanout = (opts: { viewers: number; placers: number; perSocket: number; window: number; live?: LiveMode }) =>
  withLoadRig(opts, async ({ relay, viewers, placers }) => {
    // Warm-up (JIT, first shard maps), then the measured run.
    await placers.call('run', { perSocket: 20, window: opts.window, seed: 99, width: 1000, height: 1000 })
    await settle([viewers])
    await viewers.call('reset', { recordArrivals: false })
    const cpu0 = relay.cpuMs()
    const run = await placers.call<{ ok: number; firstSend: number; lastAck: number }>('run', {
      perSocket: opts.perSocket,
      window: opts.window,
      seed: 5,
      width: 1000,
      height: 1000,
    })
    const [s] = (await settle([viewers])) as [ViewerStats]
    const relayCpuMs = relay.cpuMs() - cpu0
    const complete = s.minFrames === s.maxFrames ? s.viewers : Number.NaN
    const seconds = (s.lastArrival - run.firstSend) / 1000
    return {
      deliveriesPerSecond: (run.ok * complete) / seconds,
      placementsPerSecond: run.ok / seconds,
      placements: run.ok,
      viewers: s.viewers,
      framesPerViewer: s.maxFrames,
      placementsPerFrame: run.ok / s.maxFrames,
      bytesPerPlacement: s.refPayloadBytes / run.ok,
      wireBytesPerPlacement: s.refWireBytes / run.ok,
      seconds,
      relayCpuShare: relayCpuMs / 1000 / seconds,
    }
  })

export const runFanout = async ({ quick }: FigureOptions): Promise<Row[]> => {
  const r = await measureFanout({ viewers: 1_000, placers: 100, perSocket: quick ? 200 : 500, window: 16 })
  // The same load on live=yjs sockets (unmodified y-websocket providers), side by side.
  const y = await measureFanout({ viewers: 1_000, placers: 100, perSocket: quick ? 200 : 500, window: 16, live: LiveMode.Yjs })
  return [
    {
      key: 'fanout',
      figure: 'placement deliveries/s to 1,000 viewers',
      value: r.deliveriesPerSecond,
      unit: '/s',
      target: { op: '>=', value: 2_000_000 },
      details: r,
    },
    {
      key: 'bytes-saturated',
      figure: `bytes per placement in broadcast frames, saturated (${Math.round(r.placementsPerFrame)} placements/frame)`,
      value: r.bytesPerPlacement,
      unit: 'B',
      digits: 1,
      target: { op: '<=', value: 8 },
      details: { wireBytesPerPlacement: r.wireBytesPerPlacement },
    },
    {
      key: 'fanout-yjs',
      figure: 'placement deliveries/s to 1,000 viewers with live=yjs (y-websocket update frames)',
      value: y.deliveriesPerSecond,
      unit: '/s',
      details: y,
    },
    {
      key: 'bytes-saturated-yjs',
      figure: `bytes per placement, saturated, with live=yjs (${Math.round(y.placementsPerFrame)} placements/frame)`,
      value: y.bytesPerPlacement,
      unit: 'B',
      digits: 1,
    },
  ]
}
