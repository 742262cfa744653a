/**
 * The in-memory yardstick (issue 15): bench/yardstick/server.ts, driven by the same generator
 * children and sockets as Tessera's fan-out and latency figures, in the same invocation. Its
 * figures are the physical limit of one Node process on this machine (a `Uint8Array` board, no
 * acknowledgement, no durability, no validation beyond bounds, one shared frame per timer tick),
 * not a competitor's. Tessera's ratios to it are made by bench/yardstick-ratios.ts.
 *
 * - Saturating: 1,000 viewers, 100 placer sockets sending open-loop (the yardstick never
 *   answers) for 8 s (3 s quick), as fast as their sockets drain, with at most IN_FLIGHT
 *   placements not yet seen broadcast back (bench/load/placers.ts `blast`). Placements/s reaching
 *   every viewer = placements sent / (first send to the last frame's arrival at the last viewer),
 *   counted only once every viewer has received every placement: fan-out's
 *   `placementsPerSecond`, defined the same way.
 * - Latency: 1,000 viewers, 50 placer sockets paced at 1,000 placements/s, each on its own tile;
 *   place-to-visible per (placement, viewer) pair, as bench/latency.ts.
 */
import type { Child } from './helpers/child.ts'
import { wallMs } from './helpers/stats.ts'
import type { FigureOptions, Row } from './helpers/table.ts'
import { withYardstickRig } from './helpers/yardstick-rig.ts'

type Received = { viewers: number; minPlacements: number; maxPlacements: number; maxFrames: number; lastArrival: number }

/**
 * Waits until every viewer has received `expected` placements (the yardstick drops none that
 * is in bounds, and every generated one is) or `timeoutMs` passes; returns the last stats.
 */
const receivedAll = async (viewers: Child, expected: number, timeoutMs: number): Promise<Received> => {
  const deadline = wallMs() + timeoutMs
  for (;;) {
    const s = await viewers.call<Received>('stats')
    if (s.minPlacements >= expected || wallMs() > deadline) return s
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Waits for the warm-up's placements at every viewer: a straggler would count in the measured run. */
const warmedUp = async (viewers: Child, sent: number): Promise<void> => {
  const s = await receivedAll(viewers, sent, 60_000)
  if (s.minPlacements < sent) throw new Error(`warm-up: a viewer received ${s.minPlacements} of ${sent} placements in 60 s`)
}

/** Saturating run: placements/s reaching every viewer at broadcast period `tickMs`. */
export const measureYardstickFanout = (opts: { viewers: number; placers: number; durationMs: number; inFlight: number; tickMs: number }) =>
  withYardstickRig({ ...opts, countOnly: true }, async ({ server, viewers, placers }) => {
    const board = { width: 1000, height: 1000 }
    // Warm-up (JIT, socket buffers), small so that it drains quickly, then the measured run.
    const warm = await placers.call<{ sent: number }>('blast', { durationMs: 500, inFlight: 20_000, seed: 99, ...board })
    await warmedUp(viewers, warm.sent)
    await viewers.call('reset', { recordArrivals: false })
    const serverCpu0 = server.cpuMs()
    const viewersCpu0 = viewers.cpuMs()
    const run = await placers.call<{
      sent: number
      windowWaits: number
      closed: number
      firstSend: number
      lastWrite: number
      cpuMs: number
    }>('blast', {
      durationMs: opts.durationMs,
      inFlight: opts.inFlight,
      seed: 5,
      ...board,
    })
    const s = await receivedAll(viewers, run.sent, 60_000)
    const seconds = (s.lastArrival - run.firstSend) / 1000
    const complete = s.minPlacements >= run.sent && run.closed === 0
    return {
      placementsPerSecond: complete ? run.sent / seconds : Number.NaN,
      placements: run.sent,
      inFlight: opts.inFlight,
      windowWaits: run.windowWaits,
      minPlacementsPerViewer: s.minPlacements,
      viewers: s.viewers,
      tickMs: opts.tickMs,
      framesPerViewer: s.maxFrames,
      placementsPerFrame: run.sent / s.maxFrames,
      seconds,
      sendSeconds: (run.lastWrite - run.firstSend) / 1000,
      serverCpuShare: (server.cpuMs() - serverCpu0) / 1000 / seconds,
      viewersCpuShare: (viewers.cpuMs() - viewersCpu0) / 1000 / seconds,
      placersCpuShare: run.cpuMs / 1000 / seconds,
      server: await server.call('counts'),
    }
  })

type Latency = {
  samples: number
  placementsSeen: number
  frames: number
  negatives: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** Paced run: place-to-visible latency at `rate` placements/s for `durationMs`, broadcast period `tickMs`. */
export const measureYardstickLatency = (opts: { viewers: number; placers: number; rate: number; durationMs: number; tickMs: number }) =>
  withYardstickRig({ ...opts, countOnly: false }, async ({ server, viewers, placers }) => {
    const warm = await placers.call<{ sent: number[] }>('pace', {
      rate: opts.rate,
      durationMs: 1_000,
      width: 1000,
      height: 1000,
      offset: 500_000,
    })
    await warmedUp(viewers, warm.sent.length / 2)
    await viewers.call('reset', { recordArrivals: true })
    const cpu0 = server.cpuMs()
    const paced = await placers.call<{ sent: number[] }>('pace', {
      rate: opts.rate,
      durationMs: opts.durationMs,
      width: 1000,
      height: 1000,
      offset: 0,
    })
    const serverCpuShare = (server.cpuMs() - cpu0) / opts.durationMs
    const placements = paced.sent.length / 2
    const s = await receivedAll(viewers, placements, 30_000)
    const lat = await viewers.call<Latency>('latency', { sent: paced.sent })
    return {
      ...lat,
      placements,
      complete: s.minPlacements >= placements,
      tickMs: opts.tickMs,
      placementsPerFrame: lat.placementsSeen / lat.frames,
      serverCpuShare,
    }
  })

/** Broadcast periods of the saturating and latency runs, ms (the table: 1 s and 50 ms). */
const TICKS_MS = [1_000, 50] as const

/**
 * Most placements in flight (sent, not yet seen broadcast back) in a saturating run, by broadcast
 * period: at least rate x (period + ~100 ms of delivery) for rates up to ~500,000/s (the issue's
 * table), so that it does not bind, and no higher, so that a run starts in the steady state rather
 * than with one huge frame, and its tail (the cap drained at the measured rate) stays short.
 */
const IN_FLIGHT: Record<(typeof TICKS_MS)[number], number> = { 1000: 600_000, 50: 100_000 }

export const runYardstick = async ({ quick }: FigureOptions): Promise<Row[]> => {
  const rows: Row[] = []
  for (const tickMs of TICKS_MS) {
    const r = await measureYardstickFanout({
      viewers: 1_000,
      placers: 100,
      durationMs: quick ? 3_000 : 8_000,
      inFlight: IN_FLIGHT[tickMs],
      tickMs,
    })
    rows.push({
      key: `yardstick-${tickMs}`,
      figure: `in-memory yardstick, ${tickMs} ms broadcasts: placements/s reaching 1,000 viewers, saturating (the limit of one Node process here; ${Math.round(r.placementsPerFrame).toLocaleString('en-US')} placements/frame)`,
      value: r.placementsPerSecond,
      unit: '/s',
      details: r,
    })
  }
  for (const tickMs of [...TICKS_MS].reverse()) {
    const r = await measureYardstickLatency({ viewers: 1_000, placers: 50, rate: 1_000, durationMs: quick ? 4_000 : 10_000, tickMs })
    // A run in which some viewer missed placements has no latency to report.
    const ok = r.complete
    rows.push(
      {
        key: `yardstick-latency-${tickMs}-p50`,
        figure: `in-memory yardstick, ${tickMs} ms broadcasts: place-to-visible p50 (1,000 viewers x 1,000 placements/s)`,
        value: ok ? r.p50 : Number.NaN,
        unit: 'ms',
        digits: 1,
        details: r,
      },
      {
        key: `yardstick-latency-${tickMs}-p99`,
        figure: `in-memory yardstick, ${tickMs} ms broadcasts: place-to-visible p99`,
        value: ok ? r.p99 : Number.NaN,
        unit: 'ms',
        digits: 1,
      },
    )
  }
  return rows
}
