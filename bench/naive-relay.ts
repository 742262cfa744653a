/**
 * The naive design's ingest, measured in the same invocation as ours: 1,000 clients writing a
 * shared Y.Map through a y-websocket-protocol relay (bench/naive/server.ts). Rate = updates the
 * relay applied per second between the 10% and 90% marks of a run in which every client
 * queued all its updates at once (so the relay is never idle).
 */
import { startChild } from './helpers/child.ts'
import { wallMs } from './helpers/stats.ts'
import type { FigureOptions } from './helpers/table.ts'

export const measureNaive = async (opts: {
  mode: 'broadcast' | 'apply-only'
  clients: number
  perClient: number
  measureUpdates?: number
}) => {
  const server = await startChild('naive/server.ts')
  const writers = await startChild('naive/writers.ts')
  try {
    const { port } = await server.call<{ port: number }>('start', { mode: opts.mode })
    await writers.call('open', { port, n: opts.clients, perClient: opts.perClient, seed: 7 })
    const total = opts.clients * opts.perClient
    // The fan-out variant manages tens of updates a second: measure the first `measureUpdates`.
    const enough = Math.min(total, opts.measureUpdates ?? total)
    const cpu0 = server.cpuMs()
    const t0 = wallMs()
    await writers.call('go')
    let state = await server.call<{ applied: number; marks: number[] }>('applied')
    while (state.applied < enough && wallMs() - t0 < 120_000) {
      await new Promise((r) => setTimeout(r, 200))
      state = await server.call<{ applied: number; marks: number[] }>('applied')
    }
    const cpu = server.cpuMs() - cpu0
    // Rate between the 10% and 90% marks: the steady middle of the run.
    const m = state.marks
    const a = Math.floor(m.length * 0.1)
    const b = Math.max(a + 1, Math.floor(m.length * 0.9) - 1)
    const rate = ((b - a) * 100) / (((m[b] as number) - (m[a] as number)) / 1000)
    const seconds = ((m[m.length - 1] as number) - t0) / 1000
    return { rate, applied: state.applied, queued: total, seconds, relayCpuShare: cpu / 1000 / seconds, mode: opts.mode }
  } finally {
    await writers.stop()
    await server.stop()
  }
}

export const naiveSizes = ({ quick }: FigureOptions) => ({
  clients: 1_000,
  perClient: quick ? 15 : 40,
  broadcastPerClient: 1,
  broadcastMeasure: quick ? 400 : 1_000,
})
