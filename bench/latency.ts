/**
 * Place-to-visible latency at 1,000 viewers x 1,000 placements/s: a placer process sends 1,000
 * placements a second (paced, each on its own tile) and records when it sent each; 1,000 viewer
 * sockets in another process record when each broadcast frame arrives. A placement is visible
 * to a viewer when the frame carrying it arrives; every (placement, viewer) pair is one sample.
 * Both processes read one clock (performance.timeOrigin + now). Also reports the bytes per
 * placement of the broadcast frames at this realistic rate.
 */

import { LiveMode } from '../shared/protocol.ts'
import { settle } from './fanout.ts'
import { withLoadRig } from './helpers/load-rig.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

type Latency = {
  samples: number
  placementsSeen: number
  frames: number
  refPayloadBytes: number
  negatives: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

export const measureLatency = (opts: {
  viewers: number
  placers: number
  rate: number
  durationMs: number
  tickMs?: number
  live?: LiveMode
}) =>
  withLoadRig(
    { ...opts, ...(opts.tickMs === undefined ? {} : { env: { TICK_MS: String(opts.tickMs) } }) },
    async ({ relay, viewers, placers }) => {
      await placers.call('pace', { rate: opts.rate, durationMs: 1_000, width: 1000, height: 1000, offset: 500_000 })
      await settle([viewers])
      await viewers.call('reset', { recordArrivals: true })
      const cpu0 = relay.cpuMs()
      const paced = await placers.call<{ sent: number[]; ok: number; rejected: number }>('pace', {
        rate: opts.rate,
        durationMs: opts.durationMs,
        width: 1000,
        height: 1000,
        offset: 0,
      })
      const relayCpuShare = (relay.cpuMs() - cpu0) / opts.durationMs
      await settle([viewers])
      const lat = await viewers.call<Latency>('latency', { sent: paced.sent })
      return {
        ...lat,
        ok: paced.ok,
        rejected: paced.rejected,
        relayCpuShare,
        bytesPerPlacement: lat.refPayloadBytes / lat.placementsSeen,
        placementsPerFrame: lat.placementsSeen / lat.frames,
      }
    },
  )

type Measured = Awaited<ReturnType<typeof measureLatency>>

/** The figure's load: 1,000 viewers, 50 placers at 1,000 placements/s, 10 s (4 s quick). */
const standardLoad = (quick: boolean, over: { tickMs?: number; live?: LiveMode } = {}) =>
  measureLatency({ viewers: 1_000, placers: 50, rate: 1_000, durationMs: quick ? 4_000 : 10_000, ...over })

/** p50, p99 and bytes per placement of one run; `targets` only on the figure's own rows. */
const rowsOf = (r: Measured, o: { key: string; bytesKey: string; p50: string; p99: string; bytes: string; targets: boolean }): Row[] => [
  {
    key: `${o.key}p50`,
    figure: o.p50,
    value: r.p50,
    unit: 'ms',
    digits: 1,
    details: { ...r },
    ...(o.targets ? { target: { op: '<=', value: 15 } } : {}),
  },
  { key: `${o.key}p99`, figure: o.p99, value: r.p99, unit: 'ms', digits: 1, ...(o.targets ? { target: { op: '<=', value: 50 } } : {}) },
  {
    key: o.bytesKey,
    figure: o.bytes,
    value: r.bytesPerPlacement,
    unit: 'B',
    digits: 1,
    ...(o.targets ? { target: { op: '<=', value: 8 } } : {}),
  },
]

export const runLatency = async ({ quick }: FigureOptions): Promise<Row[]> => {
  const r = await standardLoad(quick)
  // The same load for y-websocket providers (live=yjs: Yjs update frames), side by side.
  const y = await standardLoad(quick, { live: LiveMode.Yjs })
  return [
    ...rowsOf(r, {
      key: 'latency-',
      bytesKey: 'bytes-1000',
      p50: 'place-to-visible latency p50 (1,000 viewers x 1,000 placements/s)',
      p99: 'place-to-visible latency p99 (1,000 viewers x 1,000 placements/s)',
      bytes: `bytes per placement in broadcast frames at 1,000/s (${r.placementsPerFrame.toFixed(1)} placements/frame)`,
      targets: true,
    }),
    ...rowsOf(y, {
      key: 'latency-yjs-',
      bytesKey: 'bytes-1000-yjs',
      p50: 'latency p50 with live=yjs (y-websocket update frames)',
      p99: 'latency p99 with live=yjs',
      bytes: `bytes per placement at 1,000/s with live=yjs (${y.placementsPerFrame.toFixed(1)} placements/frame)`,
      targets: false,
    }),
    // Which commit tick suits (relay issue): the same load with a minimum interval between
    // commits. Fewer, larger commits mean fewer broadcasts (each ~10 us per socket) but a wait.
    ...(await tickRows(quick)),
  ]
}

/** TICK_MS 5 and 10 beside the default (0 = group commit only), same load, one run each. */
const tickRows = async (quick: boolean): Promise<Row[]> => {
  const rows: Row[] = []
  for (const tickMs of [5, 10]) {
    const r = await standardLoad(quick, { tickMs })
    const what = `TICK_MS=${tickMs} (${r.placementsPerFrame.toFixed(1)} placements/frame, relay CPU ${(r.relayCpuShare * 100).toFixed(0)}%)`
    rows.push(
      { key: `latency-tick-${tickMs}-p50`, figure: `latency p50 with ${what}`, value: r.p50, unit: 'ms', digits: 1, details: { ...r } },
      { key: `latency-tick-${tickMs}-p99`, figure: `latency p99 with TICK_MS=${tickMs}`, value: r.p99, unit: 'ms', digits: 1 },
    )
  }
  return rows
}
