/** The in-memory yardstick with a viewer generator and a placer generator connected to it. */
import { type Child, startChild } from './child.ts'

export type YardstickRig = { server: Child; viewers: Child; placers: Child }

/**
 * Starts the yardstick (bench/yardstick/server.ts) broadcasting every `tickMs` ms, opens
 * `viewers` viewer sockets and `placers` placer sockets in the same generator children as
 * Tessera's fan-out and latency figures (their yardstick mode), runs `fn`, and stops everything
 * whatever happens. `countOnly` viewers count broadcasts without keeping them (no latency then).
 */
export const withYardstickRig = async <T>(
  opts: { viewers: number; placers: number; tickMs: number; countOnly: boolean },
  fn: (rig: YardstickRig) => Promise<T>,
): Promise<T> => {
  const started: Child[] = []
  try {
    const server = await startChild('yardstick/server.ts')
    started.push(server)
    const viewers = await startChild('load/viewers.ts')
    started.push(viewers)
    const placers = await startChild('load/placers.ts')
    started.push(placers)
    const { port } = await server.call<{ port: number }>('start', { tickMs: opts.tickMs })
    await viewers.call('open', { port, n: opts.viewers, live: 'yardstick', countOnly: opts.countOnly })
    await placers.call('openYardstick', { port, n: opts.placers })
    return await fn({ server, viewers, placers })
  } finally {
    // Generators first, so that the server does not spend its last moments on their closes.
    await Promise.all(started.slice(1).map((c) => c.stop()))
    await started[0]?.stop()
  }
}
